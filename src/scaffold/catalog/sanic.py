"""Sanic's entry in the catalog."""

from __future__ import annotations

from scaffold.catalog.model import ChoiceFact, EnvVar, Framework
from scaffold.catalog.shared import (
    AUTH,
    DATABASE,
    MAIL_ENV,
    POSTGRESQL_SETUP,
    TOKEN_SECRET,
    api_token,
    database_url,
    own_server,
)

FRAMEWORK = Framework(
    name="sanic",
    title="Sanic",
    summary="Raw async speed: blueprints and listeners on Sanic's own multi-process server.",
    traits=("async", "fast", "own-server", "json-api", "blueprints"),
    app_entry="{package}.app:create_app",
    dev_command="sanic {package}.app:create_app --factory --dev",
    dev_port=8000,
    interface="sanic",
    static_probe="robots.txt",
    serves_pages=False,
    options=(DATABASE, AUTH),
    choice_facts=(
        # The asyncio drivers SQLAlchemy's asyncio extension needs: aiosqlite for SQLite (the
        # migrations use the sqlite3 module), psycopg 3 (sync and async) for PostgreSQL.
        ChoiceFact(
            "database_dependencies",
            "database",
            (
                ("none", ()),
                ("sqlite", ("aiosqlite>=0.20",)),
                ("postgresql", ("psycopg[binary]>=3.2",)),
            ),
        ),
    ),
    env=(
        EnvVar("APP_LOG_LEVEL", "INFO", "logging level"),
        TOKEN_SECRET,
        database_url(),
        api_token("APP_API_TOKEN"),
        *MAIL_ENV,
    ),
    migrate=(("alembic", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
    server=own_server("sanic", "Sanic's server"),
)
