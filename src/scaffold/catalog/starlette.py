"""Starlette's entry in the catalog."""

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
)

FRAMEWORK = Framework(
    name="starlette",
    title="Starlette",
    summary="The lightweight ASGI toolkit under FastAPI: routes, middleware and lifespan, no more.",
    traits=("async", "asgi-toolkit", "minimal", "json-api", "asgi"),
    # A factory, as Falcon's: tests build the app with their own settings and database.
    app_entry="{package}.app:create_app()",
    # uvicorn is in the dev extra; gunicorn's asgi worker serves production.
    dev_command="uvicorn --factory {package}.app:create_app --reload",
    dev_port=8000,
    interface="asgi",
    static_probe="robots.txt",
    serves_pages=False,
    options=(DATABASE, AUTH),
    choice_facts=(database_dependencies(DATABASE),),
    env=(
        EnvVar("APP_LOG_LEVEL", "INFO", "logging level"),
        database_url(),
        api_token("APP_API_TOKEN"),
        TOKEN_SECRET,
        *MAIL_ENV,
    ),
    migrate=(("alembic", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
)
