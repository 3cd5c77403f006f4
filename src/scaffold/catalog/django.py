"""Django's entry in the catalog."""

from __future__ import annotations

from scaffold.catalog.model import EnvVar, Framework
from scaffold.catalog.shared import (
    AUTH,
    DJANGO_DATABASE,
    MAIL_ENV,
    POSTGRESQL_SETUP,
    api_token,
    database_dependencies,
    database_url,
)

FRAMEWORK = Framework(
    name="django",
    title="Django",
    summary=(
        "Batteries included: ORM, admin, auth, forms and migrations for database-backed sites."
    ),
    traits=("batteries-included", "orm", "admin", "content-sites", "wsgi"),
    app_entry="{package}.wsgi:application",
    dev_command="python manage.py runserver",
    dev_port=8000,
    static_dir="staticfiles",  # STATIC_ROOT, filled by collectstatic
    static_probe="css/site.css",
    options=(DJANGO_DATABASE, AUTH),
    choice_facts=(database_dependencies(DJANGO_DATABASE),),
    env=(
        EnvVar("DJANGO_SECRET_KEY", "", "signing key for sessions and tokens", secret=True),
        EnvVar(
            "DJANGO_DEBUG",
            "",
            "true/false; empty: on with dev settings, production settings are always off",
        ),
        EnvVar("DJANGO_ALLOWED_HOSTS", "{domain}", "comma-separated host names"),
        EnvVar("DJANGO_CSRF_TRUSTED_ORIGINS", "https://{domain}", "comma-separated origins"),
        database_url(),
        api_token("DJANGO_API_TOKEN"),
        *MAIL_ENV,
        EnvVar("DJANGO_LOG_LEVEL", "INFO", "logging level of the stdout log"),
    ),
    production_env=(("DJANGO_SETTINGS_MODULE", "{package}.settings.production"),),
    prepare=(("python", "manage.py", "collectstatic", "--noinput"),),
    migrate=(("python", "manage.py", "migrate", "--noinput"),),
    prepare_writes=("staticfiles",),
    checks=(
        ("python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"),
        ("python", "manage.py", "makemigrations", "--check", "--dry-run"),
    ),
    # With DEBUG off, django.contrib.staticfiles serves nothing; nginx serves STATIC_ROOT.
    serves_own_static=False,
    server_setup=(POSTGRESQL_SETUP,),
)
