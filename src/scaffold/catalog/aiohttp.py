"""aiohttp's entry in the catalog."""

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
    name="aiohttp",
    title="aiohttp",
    summary="An async HTTP client and server in one: web.Application, RouteTableDef, middlewares.",
    traits=("async", "http-client", "websockets", "json-api", "aiohttp"),
    app_entry="{package}.app:create_app",
    dev_command="python -m aiohttp.web -H 127.0.0.1 -P 8080 {package}.app:create_app",
    dev_port=8080,
    interface="aiohttp",
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
    worker_class="aiohttp.GunicornWebWorker",
)
