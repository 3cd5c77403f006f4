"""TurboGears's entry in the catalog."""

from __future__ import annotations

from scaffold.catalog.model import EnvVar, Framework
from scaffold.catalog.shared import (
    AUTH,
    DATABASE,
    MAIL_ENV,
    POSTGRESQL_SETUP,
    api_token,
    database_dependencies,
    database_url,
)

FRAMEWORK = Framework(
    name="turbogears",
    title="TurboGears",
    summary="A full-stack framework on SQLAlchemy: object dispatch, Kajiki pages, room to grow.",
    traits=("full-stack", "orm", "object-dispatch", "content-sites", "wsgi"),
    app_entry="{package}.wsgi:application",
    dev_command="python -m {package}.wsgi",
    dev_port=8080,
    static_probe="robots.txt",
    serves_pages=True,
    options=(DATABASE, AUTH),
    choice_facts=(database_dependencies(DATABASE),),
    env=(
        EnvVar("APP_LOG_LEVEL", "INFO", "logging level"),
        EnvVar("APP_SECRET_KEY", "", "signs the session cookie", secret=True),
        database_url(),
        api_token("APP_API_TOKEN"),
        *MAIL_ENV,
    ),
    migrate=(("alembic", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
)
