"""The Flask layer, generated and exercised the way its user would, for each `database` and
`auth`."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from scaffold import catalog
from tests.helpers import generate, make_venv
from tests.postgres import postgres_url

FLASK = catalog.get("flask")
DATA_LAYER = (
    "migrations/alembic.ini",
    "migrations/env.py",
    "migrations/script.py.mako",
    "migrations/README",
    "migrations/versions/0001_create_items.py",
    "shop/extensions.py",
    "shop/models.py",
    "shop/auth.py",
    "shop/items.py",
    "tests/test_items.py",
    "tests/test_migrations.py",
)
ACCOUNTS = (
    "migrations/versions/0002_create_accounts.py",
    "shop/accounts.py",
    "shop/forms.py",
    "shop/limits.py",
    "shop/mail.py",
    "shop/passwords.py",
    "shop/users.py",
    "shop/templates/accounts/login.html",
    "tests/test_accounts.py",
    "tests/test_limits.py",
    "tests/test_mail.py",
    "tests/test_tokens.py",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the app's settings, so the project's .env decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLASK_")
        and k not in ("DATABASE_URL", "TEST_DATABASE_URL", "STATE_DIRECTORY", "VIRTUAL_ENV")
    }
    return {**env, **extra}


class Generated(NamedTuple):
    database: str
    auth: str
    project: Path
    python: Path  # the project's venv
    env: dict[str, str]  # to run its programs with


def run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(
    scope="module",
    params=[
        ("none", "none"),
        ("sqlite", "none"),
        ("postgresql", "none"),
        ("sqlite", "accounts"),
        ("postgresql", "accounts"),
    ],
    ids=lambda answers: "-".join(answers),
)
def flask_project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Generated]:
    """A generated project in its own venv, for each `database` answer and `auth` (accounts
    need a database); PostgreSQL is a throwaway server."""
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"{database}-{auth}") / "shop",
        "flask",
        f"database={database}",
        f"auth={auth}",
    )
    python = make_venv(project)
    if database != "postgresql":
        yield Generated(database, auth, project, python, clean_env())
        return
    with postgres_url() as url:
        yield Generated(database, auth, project, python, clean_env(DATABASE_URL=url))


@pytest.mark.slow
def test_generated_flask_project_passes_its_own_tests(flask_project: Generated) -> None:
    _, _, project, python, env = flask_project
    result = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout


@pytest.mark.slow
def test_generated_flask_project_is_ruff_clean(flask_project: Generated) -> None:
    _, _, project, python, env = flask_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = run([str(ruff), *args], cwd=project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_migrate_command_works_from_the_project_root(flask_project: Generated) -> None:
    """The catalog's migrate command with the project's .env, then the drift check; the tree
    stays as committed (the SQLite file is ignored)."""
    database, auth, project, python, env = flask_project
    commands = FLASK.migrate_for({"package": "shop", "database": database, "auth": auth})
    if database == "none":
        assert commands == []
        return
    assert [shlex.join(command) for command in commands] == ["flask --app shop db upgrade"]
    for command in [*commands, ("flask", "--app", "shop", "db", "check")]:
        result = run([str(python.parent / command[0]), *command[1:]], cwd=project, env=env)
        assert result.returncode == 0, f"{command}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
    if database == "sqlite":
        assert (project / "db.sqlite3").is_file()  # DATABASE_URL from .env, in the project root
    status = run(["git", "status", "--porcelain"], cwd=project, env=env).stdout
    assert status == ""


def test_flask_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "project_name=Shop")
    init = (project / "shop" / "__init__.py").read_text()
    assert "def create_app(config" in init
    assert "ProxyFix(app.wsgi_app, x_for=1, x_proto=1)" in init
    assert "register_blueprint" in init
    assert "db.init_app(app)" in init
    assert "migrate.init_app(app, db)" in init
    assert "db = SQLAlchemy(model_class=Base)" in (project / "shop/extensions.py").read_text()
    models = (project / "shop/models.py").read_text()
    assert "class Item(db.Model)" in models
    assert "Mapped[int] = mapped_column(" in models
    assert "MethodView" in (project / "shop/items.py").read_text()
    assert (
        'op.create_table(\n        "items"'
        in (project / "migrations/versions/0001_create_items.py").read_text()
    )
    assert '{% extends "base.html" %}' in (project / "shop/templates/about.html").read_text()
    example = (project / ".env.example").read_text()
    assert "FLASK_SECRET_KEY=" in example
    assert "DATABASE_URL=sqlite:///db.sqlite3" in example
    assert "FLASK_API_TOKEN=" in example
    assert "release: flask --app shop db upgrade" in (project / "Procfile").read_text()


def test_postgresql_brings_its_driver(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "database=postgresql")
    assert '"psycopg[binary]>=3.2"' in (project / "pyproject.toml").read_text()
    assert "DATABASE_URL=postgres:///shop" in (project / ".env.example").read_text()
    assert 'DEFAULT_DATABASE_URL = "postgres:///shop"' in (project / "shop/__init__.py").read_text()


def test_no_database_means_no_data_layer(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "database=none")
    for path in DATA_LAYER:
        assert not (project / path).exists(), path
    assert (project / "shop/api.py").is_file()  # /api/greeting: a JSON API without storage
    pyproject = (project / "pyproject.toml").read_text()
    assert "flask-sqlalchemy" not in pyproject
    assert "psycopg" not in pyproject
    example = (project / ".env.example").read_text()
    assert "DATABASE_URL" not in example
    assert "API_TOKEN" not in example
    assert "db upgrade" not in (project / "Procfile").read_text()


def test_no_accounts_without_auth(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    for path in ACCOUNTS:
        assert not (project / path).exists(), path
    assert "flask-login" not in (project / "pyproject.toml").read_text()


def test_accounts_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "auth=accounts")
    for path in ACCOUNTS:
        assert (project / path).is_file(), path
    init = (project / "shop" / "__init__.py").read_text()
    assert "login_manager.init_app(app)" in init
    assert "csrf.init_app(app)" in init
    assert "csrf.exempt(api)" in init
    assert "REMEMBER_COOKIE_SECURE=not app.debug" in init
    extensions = (project / "shop/extensions.py").read_text()
    assert "login_manager = LoginManager()" in extensions
    assert "csrf = CSRFProtect()" in extensions
    assert "class User(UserMixin, db.Model)" in (project / "shop/models.py").read_text()
    assert "check_needs_rehash" in (project / "shop/passwords.py").read_text()
    assert "URLSafeTimedSerializer" in (project / "shop/accounts.py").read_text()
    assert (
        'down_revision = "0001"'
        in (project / "migrations/versions/0002_create_accounts.py").read_text()
    )
    pyproject = (project / "pyproject.toml").read_text()
    for dependency in ("flask-login", "flask-wtf", "argon2-cffi>=23.1", "pyjwt>=2.8"):
        assert dependency in pyproject, dependency
    example = (project / ".env.example").read_text()
    assert "FLASK_API_TOKEN" not in example
    assert "SMTP_HOST=" in example
    assert "MAIL_FROM=" in example
