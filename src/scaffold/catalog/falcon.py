"""Falcon's entry in the catalog."""

from __future__ import annotations

from scaffold.catalog.model import ChoiceFact, EnvVar, Framework
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
from scaffold.questions import Question

FRAMEWORK = Framework(
    name="falcon",
    title="Falcon",
    summary="Fast, reliable REST microservices: resources, responders, hooks and middleware.",
    traits=("fast", "rest", "microservices", "minimal", "wsgi-or-asgi"),
    app_entry="{package}.app:create_app()",
    # The production config picks the worker class for either interface and reads .env.
    dev_command="gunicorn -c deploy/gunicorn.conf.py --reload -w 1 -b 127.0.0.1:8000",
    dev_port=8000,
    interface_answer="interface",
    static_probe="robots.txt",
    serves_pages=False,
    options=(
        Question(
            "interface",
            "Serve as WSGI (sync) or ASGI (async)",
            "wsgi",
            type="choice",
            choices=("wsgi", "asgi"),
        ),
        DATABASE,
        AUTH,
    ),
    choice_facts=(
        # Where App, Request and Response come from: Falcon has one module per interface.
        ChoiceFact("falcon_module", "interface", (("wsgi", "falcon"), ("asgi", "falcon.asgi"))),
        database_dependencies(DATABASE),
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
)
