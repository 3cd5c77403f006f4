"""Pyramid's entry in the catalog."""

from __future__ import annotations

from scaffold.catalog.model import ChoiceFact, EnvVar, Framework
from scaffold.catalog.shared import (
    AUTH,
    DATABASE,
    MAIL_ENV,
    POSTGRESQL_SETUP,
    api_token,
    database_dependencies,
    database_url,
)
from scaffold.questions import Question

FRAMEWORK = Framework(
    name="pyramid",
    title="Pyramid",
    summary="Start small, finish big: a flexible, modular framework that grows with the app.",
    traits=("flexible", "modular", "pluggable", "templates-choice", "wsgi"),
    app_entry="{package}.wsgi:application",
    dev_command="pserve development.ini --reload",
    dev_port=6543,
    options=(
        Question(
            "template_language",
            "Page template engine",
            "jinja2",
            type="choice",
            choices=("jinja2", "chameleon", "mako"),
        ),
        DATABASE,
        AUTH,
    ),
    choice_facts=(
        # The file extension each renderer binding registers for its page templates.
        ChoiceFact(
            "template_extension",
            "template_language",
            (("jinja2", "jinja2"), ("chameleon", "pt"), ("mako", "mako")),
        ),
        # The binding, config.include()d as pyramid_<language>, and its tested minimum.
        ChoiceFact(
            "renderer_dependency",
            "template_language",
            (
                ("jinja2", "pyramid_jinja2>=2.10"),
                ("chameleon", "pyramid_chameleon>=0.3"),
                ("mako", "pyramid_mako>=1.1"),
            ),
        ),
        database_dependencies(DATABASE),
    ),
    env=(
        EnvVar("SESSION_SECRET", "", "signs the session cookie", secret=True),
        database_url("; it replaces sqlalchemy.url from the ini file"),
        api_token("PYRAMID_API_TOKEN"),
        *MAIL_ENV,
    ),
    # The ini file's [alembic] section; sqlalchemy.url is DATABASE_URL when it is set.
    migrate=(("alembic", "-c", "production.ini", "upgrade", "head"),),
    server_setup=(POSTGRESQL_SETUP,),
)
