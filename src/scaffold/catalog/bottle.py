"""Bottle's entry in the catalog."""

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
    name="bottle",
    title="Bottle",
    summary="A single-file app with no dependencies: routes, plugins and templates in one module.",
    traits=("microframework", "single-file", "no-dependencies", "small-apps", "wsgi"),
    app_entry="{package}.app:create_app()",
    # Bottle's own development server, reloading on code changes; gunicorn serves production.
    dev_command="python -m {package}.app",
    dev_port=8080,
    static_probe="robots.txt",
    serves_pages=True,
    options=(DATABASE, AUTH),
    choice_facts=(database_dependencies(DATABASE),),
    env=(
        EnvVar("APP_LOG_LEVEL", "INFO", "logging level"),
        # Only the accounts sign anything: without them the app keeps no sessions.
        EnvVar(
            "APP_SECRET_KEY",
            "",
            "signs the session cookie, CSRF tokens and access tokens",
            secret=True,
            absent_when=(("auth", "none"),),
        ),
        database_url(),
        api_token("APP_API_TOKEN"),
        *MAIL_ENV,
    ),
    migrate=(("alembic", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
)
