"""Tornado's entry in the catalog."""

from __future__ import annotations

from scaffold.catalog.model import EnvVar, Framework
from scaffold.catalog.shared import (
    AUTH,
    DATABASE,
    MAIL_ENV,
    POSTGRESQL_SETUP,
    TOKEN_SECRET,
    api_token,
    database_dependencies,
    database_url,
    own_server,
)

FRAMEWORK = Framework(
    name="tornado",
    title="Tornado",
    summary="Long-lived connections and websockets: handlers on its own event loop and server.",
    traits=("async", "websockets", "long-polling", "own-server", "json-api"),
    app_entry="{package}.app:make_app()",
    dev_command="python -m {package}.serve --bind 127.0.0.1:8888 --debug",
    dev_port=8888,
    interface="tornado",
    static_probe="robots.txt",
    serves_pages=False,
    options=(DATABASE, AUTH),
    choice_facts=(database_dependencies(DATABASE),),
    env=(
        EnvVar("APP_LOG_LEVEL", "INFO", "logging level"),
        TOKEN_SECRET,
        database_url(),
        api_token("APP_API_TOKEN"),
        *MAIL_ENV,
    ),
    migrate=(("alembic", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
    server=own_server("tornado", "Tornado's HTTPServer"),
)
