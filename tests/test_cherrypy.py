"""The CherryPy layer, generated and exercised the way its user would, for each `database` and
`auth`: an object tree on cherrypy.tree, served by gunicorn's sync worker, CherryPy's engine
started and stopped by gunicorn's hooks in each worker."""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from scaffold import catalog
from scaffold.questions import resolve_answers
from tests.helpers import generate, make_venv, run_cli
from tests.postgres import postgres_url

CHERRYPY = catalog.get("cherrypy")
# The files only a database writes ("shop" is the package).
DATA_LAYER = (
    "alembic.ini",
    "shop/db.py",
    "shop/models.py",
    "shop/auth.py",
    "shop/items.py",
    "shop/validation.py",
    "shop/migrations/env.py",
    "shop/migrations/script.py.mako",
    "shop/migrations/README",
    "shop/migrations/versions/20260101_5c2b8a3e9d41_create_items.py",
    "tests/test_items.py",
    "tests/test_migrations.py",
)
# The files only auth=accounts writes (with a database).
ACCOUNTS = (
    "shop/migrations/versions/20260201_2c81b405a866_create_users.py",
    "shop/accounts.py",
    "shop/limits.py",
    "shop/mail.py",
    "shop/passwords.py",
    "shop/sessions.py",
    "shop/tokens.py",
    "shop/users.py",
    "shop/templates/accounts/login.html",
    "shop/templates/accounts/signup.html",
    "shop/templates/accounts/logout.html",
    "shop/templates/accounts/password_reset.html",
    "shop/templates/accounts/set_password.html",
    "tests/test_account_pages.py",
    "tests/test_api_accounts.py",
    "tests/test_mail.py",
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


def cherrypy_data(**given: str) -> dict[str, object]:
    answers = resolve_answers(CHERRYPY.questions, {"package": "shop", **given})
    return catalog.template_data(CHERRYPY, answers)


@pytest.fixture(
    scope="module",
    params=[("none", "none"), ("sqlite", "accounts"), ("postgresql", "accounts")],
    ids=lambda answers: "-".join(answers),
)
def cherrypy_project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Generated]:
    """A generated project in its own venv, for each `database` answer (accounts need a
    database); PostgreSQL is a throwaway server."""
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"cherrypy-{database}-{auth}") / "shop",
        "cherrypy",
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
def test_generated_cherrypy_project_passes_its_own_tests(cherrypy_project: Generated) -> None:
    _, _, project, python, env = cherrypy_project
    result = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout
    assert " passed" in result.stdout


@pytest.mark.slow
def test_generated_cherrypy_project_is_ruff_clean(cherrypy_project: Generated) -> None:
    _, _, project, python, env = cherrypy_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = run([str(ruff), *args], cwd=project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_migrate_command_works_from_the_project_root(cherrypy_project: Generated) -> None:
    """The catalog's migrate command with the project's .env, then Alembic's drift check; the
    tree stays as committed (the SQLite file is ignored)."""
    database, auth, project, python, env = cherrypy_project
    commands = CHERRYPY.migrate_for({"package": "shop", "database": database, "auth": auth})
    if database == "none":
        assert commands == []
        return
    assert [shlex.join(command) for command in commands] == ["alembic upgrade head"]
    for command in [*commands, ("alembic", "check")]:
        result = run([str(python.parent / command[0]), *command[1:]], cwd=project, env=env)
        assert result.returncode == 0, f"{command}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
    if database == "sqlite":
        assert (project / "db.sqlite3").is_file()  # DATABASE_URL from .env, in the project root
    assert run(["git", "status", "--porcelain"], cwd=project, env=env).stdout == ""


def test_catalog_facts() -> None:
    assert CHERRYPY.app_entry == "{package}.app:create_app()"
    assert CHERRYPY.dev_command == "python -m {package}.app"
    assert CHERRYPY.serves_pages
    assert CHERRYPY.static_probe == "robots.txt"
    data = cherrypy_data(database="sqlite")
    assert data["server"] == "gunicorn"
    assert data["worker_class"] == catalog.WORKER_CLASSES["wsgi"]  # sync: CherryPy is WSGI
    assert data["gunicorn_hooks"] == [
        ["post_worker_init", "shop.app", "start_engine", ["worker"]],
        ["worker_exit", "shop.app", "stop_engine", ["server", "worker"]],
    ]
    assert data["migrate_commands"] == ["alembic upgrade head"]
    assert cherrypy_data(database="none")["migrate_commands"] == []


def test_gunicorn_starts_and_stops_the_engine_in_each_worker(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "cherrypy", "database=none")
    conf = (project / "deploy/gunicorn.conf.py").read_text()
    assert 'wsgi_app = "shop.app:create_app()"' in conf
    assert 'worker_class = "sync"' in conf
    assert 'import_module("shop.app").start_engine(worker)' in conf
    assert 'import_module("shop.app").stop_engine(server, worker)' in conf
    app = (project / "shop/app.py").read_text()
    assert "def start_engine(*_: object) -> None:" in app
    assert "def stop_engine(*_: object) -> None:" in app
    # gunicorn owns the socket and the code: no CherryPy server, no autoreload in production.
    assert "cherrypy.server.unsubscribe()" in app
    assert '"engine.autoreload.on": False' in app
    assert f"DEV_PORT = {CHERRYPY.dev_port}" in app
    assert "gunicorn>=" in (project / "pyproject.toml").read_text()


def test_cherrypy_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "cherrypy", "project_name=Shop")
    app = (project / "shop/app.py").read_text()
    assert 'app = cherrypy.tree.mount(root, "/", config)' in app
    assert '"request.dispatch": cherrypy.dispatch.MethodDispatcher()' in app
    assert '"tools.staticdir.on": True' in app
    assert '"request.show_tracebacks": settings.debug' in app
    assert "cherrypy.tools.db = SessionTool()" in app
    db = (project / "shop/db.py").read_text()
    assert "class DatabasePlugin(plugins.SimplePlugin):" in db
    assert "class SessionTool(cherrypy.Tool):" in db
    pages = (project / "shop/pages.py").read_text()
    assert "@cherrypy.expose" in pages
    assert "@cherrypy.tools.json_out()" in pages
    models = (project / "shop/models.py").read_text()
    assert "Mapped[int] = mapped_column(" in models
    items = (project / "shop/items.py").read_text()
    for method in ("def GET(", "def POST(", "def DELETE("):
        assert method in items, method
    assert '{% extends "base.html" %}' in (project / "shop/templates/index.html").read_text()
    example = (project / ".env.example").read_text()
    assert "DATABASE_URL=sqlite:///db.sqlite3" in example
    assert "APP_API_TOKEN=" in example
    assert "APP_SECRET_KEY" not in example  # no session without accounts
    assert "release: alembic upgrade head" in (project / "Procfile").read_text()


@pytest.mark.parametrize(
    ("database", "auth"),
    [("none", "none"), ("sqlite", "none"), ("postgresql", "none"), ("sqlite", "accounts")],
)
def test_the_answers_pick_the_files_and_the_dependencies(
    tmp_path: Path, database: str, auth: str
) -> None:
    project = generate(tmp_path / "shop", "cherrypy", f"database={database}", f"auth={auth}")
    for path in DATA_LAYER:
        assert (project / path).is_file() == (database != "none"), path
    for path in ACCOUNTS:
        assert (project / path).is_file() == (auth == "accounts"), path
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    names = {d.split(">")[0] for d in pyproject["project"]["dependencies"]}
    expected = {"cherrypy", "jinja2", "gunicorn"}
    if database != "none":
        expected |= {"sqlalchemy", "alembic"}
    if database == "postgresql":
        expected.add("psycopg[binary]")
    if auth == "accounts":
        expected |= {"itsdangerous", "argon2-cffi", "pyjwt"}
    assert names == expected
    assert "webtest" in " ".join(pyproject["project"]["optional-dependencies"]["dev"])
    assert (project / "shop/static/robots.txt").is_file()  # the catalog's static_probe
    example = (project / ".env.example").read_text()
    assert ("DATABASE_URL=" in example) == (database != "none")
    assert ("APP_API_TOKEN=" in example) == (database != "none" and auth == "none")
    assert ("alembic" in (project / "Procfile").read_text()) == (database != "none")


def test_postgresql_brings_its_driver(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "cherrypy", "database=postgresql")
    assert '"psycopg[binary]>=3.2"' in (project / "pyproject.toml").read_text()
    assert "DATABASE_URL=postgres:///shop" in (project / ".env.example").read_text()
    config = (project / "shop/config.py").read_text()
    assert 'DEFAULT_DATABASE_URL = "postgresql:///shop"' in config
    assert 'set(drivername="postgresql+psycopg")' in config


def test_accounts_without_a_database_are_refused(tmp_path: Path) -> None:
    result = run_cli(
        "new",
        str(tmp_path / "shop"),
        "--framework",
        "cherrypy",
        "--defaults",
        "--data",
        "auth=accounts",
        "--data",
        "database=none",
    )
    assert result.exit_code == 2
    assert "auth" in result.output
    assert list(tmp_path.iterdir()) == []


def test_accounts_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "cherrypy", "auth=accounts")
    app = (project / "shop/app.py").read_text()
    assert '"tools.signed_session.secure": not settings.debug' in app
    assert '"tools.csrf.on": True' in app
    assert "root.accounts = AccountPages(" in app
    sessions = (project / "shop/sessions.py").read_text()
    assert 'morsel["httponly"] = True' in sessions
    assert 'morsel["samesite"] = "Lax"' in sessions
    assert "URLSafeTimedSerializer" in sessions
    assert "check_needs_rehash" in (project / "shop/passwords.py").read_text()
    assert (
        'down_revision: str | None = "5c2b8a3e9d41"'
        in (project / "shop/migrations/versions/20260201_2c81b405a866_create_users.py").read_text()
    )
    example = (project / ".env.example").read_text()
    assert "APP_API_TOKEN" not in example
    for name in ("APP_SECRET_KEY=", "SMTP_HOST=", "SMTP_PORT=", "MAIL_FROM="):
        assert name in example, name
    secret = next(
        line.partition("=")[2]
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("APP_SECRET_KEY=")
    )
    assert len(secret) >= 32  # a fresh secret, only in the untracked .env
