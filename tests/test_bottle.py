"""The Bottle layer: what each `database` and `auth` answer renders (cheap, no venv), then three
generated projects that run their own suite and ruff in their own venv."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from scaffold import catalog
from scaffold.questions import resolve_answers
from tests.helpers import dotenv_values, generate, make_venv, run_cli
from tests.postgres import postgres_url

BOTTLE = catalog.get("bottle")
DATA_LAYER = (
    "alembic.ini",
    "shop/migrations/env.py",
    "shop/migrations/script.py.mako",
    "shop/migrations/README",
    "shop/migrations/versions/20260101_5c2b8a3e9d41_create_items.py",
    "shop/auth.py",
    "shop/db.py",
    "shop/items.py",
    "shop/models.py",
    "shop/plugins.py",
    "shop/validation.py",
    "tests/test_items.py",
    "tests/test_migrations.py",
    "tests/test_plugins.py",
)
ACCOUNTS = (
    "shop/migrations/versions/20260201_2c81b405a866_create_users.py",
    "shop/accounts.py",
    "shop/limits.py",
    "shop/mail.py",
    "shop/passwords.py",
    "shop/sessions.py",
    "shop/tokens.py",
    "shop/users.py",
    "shop/users_api.py",
    "shop/templates/accounts/login.html",
    "shop/templates/accounts/signup.html",
    "shop/templates/accounts/logout.html",
    "shop/templates/accounts/password_reset.html",
    "shop/templates/accounts/set_password.html",
    "tests/test_accounts.py",
    "tests/test_limits.py",
    "tests/test_mail.py",
    "tests/test_users_api.py",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the app's settings, so the project's .env decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_", "SMTP_"))
        and k not in ("DATABASE_URL", "TEST_DATABASE_URL", "STATE_DIRECTORY", "VIRTUAL_ENV")
    }
    return {**env, **extra}


def run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


# --- render only ---------------------------------------------------------------------------


def test_the_catalog_facts() -> None:
    assert BOTTLE.app_entry == "{package}.app:create_app()"
    assert BOTTLE.serves_pages
    assert BOTTLE.static_probe == "robots.txt"
    assert BOTTLE.migrate == (("alembic", "upgrade", "head"),)
    answers = {"package": "shop", "database": "none", "auth": "none"}
    assert BOTTLE.migrate_for(answers) == []
    data = catalog.template_data(BOTTLE, resolve_answers(BOTTLE.questions, {"package": "shop"}))
    assert data["worker_class"] == catalog.WORKER_CLASSES["wsgi"]


def test_bottle_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "bottle", "project_name=Shop")
    app = (project / "shop/app.py").read_text()
    assert "app = bottle.Bottle()" in app  # its own app, never the module-level default one
    assert "app.install(SQLAlchemyPlugin(session_factory))" in app
    plugin = (project / "shop/plugins.py").read_text()
    assert "api = 2" in plugin
    # Route.get_undecorated_callback() never returns for a closure without a callable in it
    # (bottlepy/bottle#926): every route here is such a closure.
    assert "inspect.signature(callback)" in plugin
    assert "get_undecorated_callback()" not in plugin.replace(
        "Route.get_undecorated_callback()", ""
    )
    assert "class Item(Base)" in (project / "shop/models.py").read_text()
    assert "% rebase('base.html'" in (project / "shop/templates/index.html").read_text()
    example = (project / ".env.example").read_text()
    assert "\nDATABASE_URL=sqlite:///db.sqlite3" in example
    assert "\nAPP_API_TOKEN=" in example
    assert "APP_SECRET_KEY" not in example  # nothing is signed without the accounts
    assert len(dotenv_values(project)["APP_API_TOKEN"]) == 64
    assert "release: alembic upgrade head" in (project / "Procfile").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    for dependency in ('"bottle>=0.13,<0.14"', '"sqlalchemy>=2.0"', '"alembic>=1.16"'):
        assert dependency in pyproject
    assert "fail_under = 90" in pyproject


def test_no_database_means_no_data_layer(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "bottle", "database=none")
    for path in DATA_LAYER + ACCOUNTS:
        assert not (project / path).exists(), path
    assert (project / "shop/static/robots.txt").is_file()
    pyproject = (project / "pyproject.toml").read_text()
    for absent in ("sqlalchemy", "alembic", "psycopg", "argon2"):
        assert absent not in pyproject, absent
    example = (project / ".env.example").read_text()
    assert "DATABASE_URL" not in example
    assert "API_TOKEN" not in example
    assert "release:" not in (project / "Procfile").read_text()


def test_postgresql_brings_its_driver(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "bottle", "database=postgresql")
    for path in DATA_LAYER:
        assert (project / path).is_file(), path
    assert '"psycopg[binary]>=3.2"' in (project / "pyproject.toml").read_text()
    assert "\nDATABASE_URL=postgres:///shop" in (project / ".env.example").read_text()


def test_accounts_render_their_pages_and_api(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "bottle", "auth=accounts")
    for path in DATA_LAYER + ACCOUNTS:
        assert (project / path).is_file(), path
    app = (project / "shop/app.py").read_text()
    assert "users_api.add_routes(app, settings.secret_key)" in app
    accounts = (project / "shop/accounts.py").read_text()
    for path in ("/accounts/signup", "/accounts/login", "/accounts/logout"):
        assert f'@app.route("{path}", method=["GET", "POST"])' in accounts
    sessions = (project / "shop/sessions.py").read_text()
    assert 'httponly=True,\n            samesite="lax",' in sessions
    assert (
        'down_revision: str | None = "5c2b8a3e9d41"'
        in (project / "shop/migrations/versions/20260201_2c81b405a866_create_users.py").read_text()
    )
    pyproject = (project / "pyproject.toml").read_text()
    for dependency in ("argon2-cffi>=23.1", "pyjwt>=2.8"):
        assert dependency in pyproject, dependency
    example = (project / ".env.example").read_text()
    for name in ("APP_SECRET_KEY", "SMTP_HOST", "SMTP_PORT", "MAIL_FROM"):
        assert f"\n{name}=" in example, name
    # Writes need an account's access token: there is no shared token to set.
    assert "APP_API_TOKEN" not in example + (project / ".env").read_text()
    assert len(dotenv_values(project)["APP_SECRET_KEY"]) == 64


def test_accounts_without_a_database_are_refused(tmp_path: Path) -> None:
    result = run_cli(
        "new",
        str(tmp_path / "shop"),
        "--framework",
        "bottle",
        "--defaults",
        "--data",
        "auth=accounts",
        "--data",
        "database=none",
    )
    assert result.exit_code == 2
    assert "auth" in result.output
    assert list(tmp_path.iterdir()) == []


# --- generated projects in their own venv ---------------------------------------------------


class Generated(NamedTuple):
    database: str
    auth: str
    project: Path
    python: Path  # the project's venv
    env: dict[str, str]  # to run its programs with


@pytest.fixture(
    scope="module",
    params=[("none", "none"), ("sqlite", "accounts"), ("postgresql", "accounts")],
    ids=lambda answers: "-".join(answers),
)
def bottle_project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Generated]:
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"{database}-{auth}") / "shop",
        "bottle",
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
def test_generated_bottle_project_passes_its_own_tests(bottle_project: Generated) -> None:
    _, _, project, python, env = bottle_project
    result = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout


@pytest.mark.slow
def test_generated_bottle_project_is_ruff_clean(bottle_project: Generated) -> None:
    _, _, project, python, env = bottle_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = run([str(ruff), *args], cwd=project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_migrate_command_works_from_the_project_root(bottle_project: Generated) -> None:
    """The catalog's migrate command with the project's .env, twice (the second is a no-op);
    the tree stays as committed (the SQLite file is ignored)."""
    database, auth, project, python, env = bottle_project
    commands = BOTTLE.migrate_for({"package": "shop", "database": database, "auth": auth})
    if database == "none":
        assert commands == []
        return
    for command in [*commands, *commands, ("alembic", "check")]:
        result = run([str(python.parent / command[0]), *command[1:]], cwd=project, env=env)
        assert result.returncode == 0, f"{command}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
    if database == "sqlite":
        assert (project / "db.sqlite3").is_file()  # DATABASE_URL from .env, in the project root
    assert run(["git", "status", "--porcelain"], cwd=project, env=env).stdout == ""
