"""aiohttp's entry in the catalog."""

from __future__ import annotations

from scaffold.catalog.model import ChoiceFact, EnvVar, Framework
from scaffold.catalog.shared import (
    AUTH,
    DATABASE,
    DRIVERS,
    MAIL_ENV,
    POSTGRESQL_SETUP,
    TOKEN_SECRET,
    api_token,
    database_url,
)

# The app runs on SQLAlchemy's asyncio extension: aiosqlite for SQLite; psycopg 3 is async too.
ASYNC_DRIVERS = {**DRIVERS, "sqlite": ("aiosqlite>=0.20",)}

FRAMEWORK = Framework(
    name="aiohttp",
    title="aiohttp",
    summary="An async HTTP client and server in one: web.Application, RouteTableDef, middlewares.",
    traits=("async", "http-client", "websockets", "json-api", "aiohttp"),
    # An async factory, not a call: gunicorn's aiohttp worker awaits it in the worker's loop.
    app_entry="{package}.app:create_app",
    # aiohttp's own runner; it calls the factory with the arguments it does not parse.
    dev_command="python -m aiohttp.web -H 127.0.0.1 -P 8080 {package}.app:create_app",
    dev_port=8080,
    interface="aiohttp",
    static_probe="robots.txt",
    serves_pages=False,
    options=(DATABASE, AUTH),
    choice_facts=(
        ChoiceFact(
            "database_dependencies",
            "database",
            tuple((choice, ASYNC_DRIVERS[choice]) for choice in DATABASE.choices),
        ),
    ),
    env=(
        EnvVar("APP_LOG_LEVEL", "INFO", "logging level"),
        database_url(),
        api_token("APP_API_TOKEN"),
        TOKEN_SECRET,
        *MAIL_ENV,
    ),
    migrate=(("alembic", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
    # aiohttp.GunicornWebWorker, subclassed to serve the requests that arrive as it stops.
    worker_class="{package}.worker.WebWorker",
    # aiohttp's worker writes the access log itself and refuses gunicorn's %(name)s codes: the
    # client nginx saw, the request line, status, bytes, referer, user agent, and the duration
    # in microseconds (aiohttp has no milliseconds code), as in `... 1234us`.
    access_log_format='"%{X-Forwarded-For}i" %t "%r" %s %b "%{Referer}i" "%{User-Agent}i" %Dus',
)
