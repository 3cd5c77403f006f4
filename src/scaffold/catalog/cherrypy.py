"""CherryPy's entry in the catalog."""

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
    name="cherrypy",
    title="CherryPy",
    summary="A minimalist object-oriented app: a tree of Python objects, mounted and served.",
    traits=("object-oriented", "minimalist", "mature", "small-apps", "wsgi"),
    # gunicorn serves cherrypy.tree, with the app mounted on it (CherryPy's "embedded" mode).
    app_entry="{package}.app:create_app()",
    dev_command="python -m {package}.app",
    dev_port=8080,
    static_probe="robots.txt",
    serves_pages=True,
    options=(DATABASE, AUTH),
    choice_facts=(database_dependencies(DATABASE),),
    env=(
        EnvVar("APP_LOG_LEVEL", "INFO", "logging level"),
        # Without accounts there is no session cookie and no access token to sign.
        EnvVar(
            "APP_SECRET_KEY",
            "",
            "signs the session cookie and the API's access tokens",
            secret=True,
            absent_when=(("auth", "none"),),
        ),
        database_url(),
        api_token("APP_API_TOKEN"),
        *MAIL_ENV,
    ),
    migrate=(("alembic", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
    # CherryPy's engine (its plugins: the database engine) starts in each worker after the
    # fork and stops when the worker exits; gunicorn owns the socket and the signals.
    gunicorn_hooks=(
        ("post_worker_init", "{package}.app:start_engine"),
        ("worker_exit", "{package}.app:stop_engine"),
    ),
)
