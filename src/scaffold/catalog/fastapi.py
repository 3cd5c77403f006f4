"""FastAPI's entry in the catalog."""

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
    name="fastapi",
    title="FastAPI",
    summary="Typed async APIs: validation from type hints, dependency injection, OpenAPI docs.",
    traits=("async", "typed", "openapi", "json-api", "asgi"),
    app_entry="{package}.main:app",
    # uvicorn is in the dev extra; `fastapi dev` would need all of fastapi[standard].
    dev_command="uvicorn {package}.main:app --reload",
    dev_port=8000,
    interface="asgi",
    static_dir="{package}/static",
    static_probe="robots.txt",
    serves_pages=False,
    options=(DATABASE, AUTH),
    choice_facts=(database_dependencies(DATABASE),),
    env=(
        EnvVar("APP_LOG_LEVEL", "INFO", "logging level: DEBUG, INFO, WARNING, ERROR"),
        database_url(),
        api_token("APP_API_TOKEN"),
        TOKEN_SECRET,
        *MAIL_ENV,
        EnvVar(
            "APP_MAX_PAGE_SIZE",
            "100",
            "most items one list request returns (at most 100)",
            absent_when=(("database", "none"),),
        ),
    ),
    migrate=(("alembic", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
)
