"""The TurboGears layer, generated and exercised the way its user would, for each `database` and
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

TURBOGEARS = catalog.get("turbogears")
DATA_LAYER = (
    "alembic.ini",
    "shop/migrations/env.py",
    "shop/migrations/script.py.mako",
    "shop/migrations/README",
    "shop/migrations/versions/20260101_5c2b8a3e9d41_create_items.py",
    "shop/model/__init__.py",
    "shop/lib/database.py",
    "shop/lib/checks.py",
    "shop/controllers/items.py",
    "tests/test_items.py",
    "tests/test_migrations.py",
)
ACCOUNTS = (
    "shop/migrations/versions/20260201_2c81b405a866_create_users.py",
    "shop/controllers/accounts.py",
    "shop/controllers/users.py",
    "shop/lib/identity.py",
    "shop/lib/limits.py",
    "shop/lib/mail.py",
    "shop/lib/passwords.py",
    "shop/lib/tokens.py",
    "shop/templates/accounts.xhtml",
    "tests/test_accounts.py",
    "tests/test_users_api.py",
    "tests/test_mail.py",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the app's settings, so the project's .env decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("APP_")
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
        ("sqlite", "accounts"),
        ("postgresql", "accounts"),
    ],
    ids=lambda answers: "-".join(answers),
)
def turbogears_project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Generated]:
    """A generated project in its own venv, for each `database` answer and `auth` (accounts
    need a database); PostgreSQL is a throwaway server."""
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"{database}-{auth}") / "shop",
        "turbogears",
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
def test_generated_turbogears_project_passes_its_own_tests(turbogears_project: Generated) -> None:
    _, _, project, python, env = turbogears_project
    result = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout


@pytest.mark.slow
def test_generated_turbogears_project_is_ruff_clean(turbogears_project: Generated) -> None:
    _, _, project, python, env = turbogears_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = run([str(ruff), *args], cwd=project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_migrate_command_works_from_the_project_root(turbogears_project: Generated) -> None:
    """The catalog's migrate command with the project's .env, then the drift check; the tree
    stays as committed (the SQLite file is ignored)."""
    database, auth, project, python, env = turbogears_project
    commands = TURBOGEARS.migrate_for({"package": "shop", "database": database, "auth": auth})
    if database == "none":
        assert commands == []
        return
    assert [shlex.join(command) for command in commands] == ["alembic upgrade head"]
    for command in [*commands, ("alembic", "check")]:
        result = run([str(python.parent / command[0]), *command[1:]], cwd=project, env=env)
        assert result.returncode == 0, f"{command}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
    if database == "sqlite":
        assert (project / "db.sqlite3").is_file()  # DATABASE_URL from .env, in the project root
    status = run(["git", "status", "--porcelain"], cwd=project, env=env).stdout
    assert status == ""


def test_turbogears_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "turbogears", "project_name=Shop")
    wsgi = (project / "shop/wsgi.py").read_text()
    assert "FullStackApplicationConfigurator()" in wsgi
    assert '"tm.commit_veto": commit_veto' in wsgi
    assert '"session.type": "cookie"' in wsgi
    assert not list(project.glob("*.ini")) or [p.name for p in project.glob("*.ini")] == [
        "alembic.ini"
    ]
    root = (project / "shop/controllers/root.py").read_text()
    assert "class RootController(BaseController)" in root
    assert '@expose("shop.templates.index")' in root
    assert '@expose("json")' in root
    assert (
        "class ItemsController(RestController)"
        in (project / "shop/controllers/items.py").read_text()
    )
    model = (project / "shop/model/__init__.py").read_text()
    assert "DBSession = scoped_session(" in model
    assert "register(DBSession)" in model
    assert "def init_model(" in model
    assert "py:extends" in (project / "shop/templates/index.xhtml").read_text()
    assert (project / "shop/static/robots.txt").is_file()
    example = (project / ".env.example").read_text()
    assert "APP_SECRET_KEY=" in example
    assert "APP_API_TOKEN=" in example
    assert "DATABASE_URL=sqlite:///db.sqlite3" in example
    assert "release: alembic upgrade head" in (project / "Procfile").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    for dependency in ("turbogears2>=2.5", "kajiki", "zope.sqlalchemy", "transaction", "alembic"):
        assert dependency in pyproject, dependency


def test_catalog_facts() -> None:
    assert TURBOGEARS.app_entry == "{package}.wsgi:application"
    assert TURBOGEARS.dev_command == "python -m {package}.wsgi"
    assert TURBOGEARS.serves_pages
    assert TURBOGEARS.static_probe == "robots.txt"


def test_postgresql_brings_its_driver(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "turbogears", "database=postgresql")
    assert '"psycopg[binary]>=3.2"' in (project / "pyproject.toml").read_text()
    assert "DATABASE_URL=postgres:///shop" in (project / ".env.example").read_text()
    assert (
        'DEFAULT_DATABASE_URL = "postgresql:///shop"' in (project / "shop/settings.py").read_text()
    )


def test_no_database_means_no_data_layer(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "turbogears", "database=none")
    for path in DATA_LAYER:
        assert not (project / path).exists(), path
    pyproject = (project / "pyproject.toml").read_text()
    assert "sqlalchemy" not in pyproject
    assert "psycopg" not in pyproject
    example = (project / ".env.example").read_text()
    assert "DATABASE_URL" not in example
    assert "API_TOKEN" not in example
    assert "alembic" not in (project / "Procfile").read_text()


def test_no_accounts_without_auth(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "turbogears")
    for path in ACCOUNTS:
        assert not (project / path).exists(), path
    assert "argon2" not in (project / "pyproject.toml").read_text()


def test_accounts_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "turbogears", "auth=accounts")
    for path in ACCOUNTS:
        assert (project / path).is_file(), path
    wsgi = (project / "shop/wsgi.py").read_text()
    assert '"session.httponly": True' in wsgi
    assert '"session.samesite": "Lax"' in wsgi
    assert '"session.secure": not settings.debug' in wsgi
    assert "check_csrf()" in (project / "shop/controllers/accounts.py").read_text()
    assert "check_needs_rehash" in (project / "shop/lib/passwords.py").read_text()
    assert (
        'down_revision: str | None = "5c2b8a3e9d41"'
        in (project / "shop/migrations/versions/20260201_2c81b405a866_create_users.py").read_text()
    )
    pyproject = (project / "pyproject.toml").read_text()
    for dependency in ("argon2-cffi>=23.1", "pyjwt>=2.8"):
        assert dependency in pyproject, dependency
    example = (project / ".env.example").read_text()
    assert "APP_API_TOKEN" not in example
    assert "SMTP_HOST=" in example
    assert "MAIL_FROM=" in example
