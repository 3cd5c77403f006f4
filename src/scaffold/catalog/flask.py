"""Flask's entry in the catalog."""

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
    name="flask",
    title="Flask",
    summary="A small core you extend: web apps and APIs where you pick your own parts.",
    traits=("microframework", "pick-your-own", "small-apps", "wsgi"),
    app_entry="{package}:create_app()",
    dev_command="flask --app {package} run --debug",
    dev_port=5000,
    options=(DATABASE, AUTH),
    choice_facts=(database_dependencies(DATABASE),),
    env=(
        EnvVar("FLASK_SECRET_KEY", "", "signs the session cookie", secret=True),
        database_url(),
        api_token("FLASK_API_TOKEN"),
        *MAIL_ENV,
        EnvVar("FLASK_LOG_LEVEL", "INFO", "logging level"),
    ),
    migrate=(("flask", "--app", "{package}", "db", "upgrade"),),
    server_setup=(POSTGRESQL_SETUP,),
)
