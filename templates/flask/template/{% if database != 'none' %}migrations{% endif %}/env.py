"""Alembic's environment for `flask db ...`: Flask-Migrate runs it inside the app, so the
database, the models' metadata and the logging are the app's own."""

from typing import Any

from alembic import context
from flask import current_app
from sqlalchemy.engine import Connection

config = context.config
migrate = current_app.extensions["migrate"]
target_metadata = migrate.db.metadata


def skip_empty_revision(migration_context: Any, revision: Any, directives: list[Any]) -> None:
    """`flask db migrate` writes no revision when the models have not changed."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []


def run_migrations_offline() -> None:
    """`flask db upgrade --sql`: print the SQL instead of running it."""
    context.configure(
        url=migrate.db.engine.url,
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    options = {"process_revision_directives": skip_empty_revision, **migrate.configure_args}
    context.configure(connection=connection, target_metadata=target_metadata, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # A connection handed over in config.attributes (the tests', inside their transaction)
    # is used as it is; otherwise one from the app's engine.
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    with migrate.db.engine.connect() as connection:
        run_migrations(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
