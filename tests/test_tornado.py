"""The Tornado layer: every `database` and `auth` answer rendered, and three generated projects
(no database; sqlite with accounts; PostgreSQL with accounts) that run their own suite, serve.py
included, and ruff."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from scaffold import catalog
from scaffold.questions import resolve_answers
from scaffold.render import render_layer
from tests.helpers import TEMPLATES, generate, make_venv, migrate_project, run_cli, tree_snapshot
from tests.postgres import postgres_url

DATABASES = ("none", "sqlite", "postgresql")
COMBINATIONS = [(d, "none") for d in DATABASES] + [
    (d, "accounts") for d in DATABASES if d != "none"
]
# The projects the slow tests build: each costs a venv and a full test run.
PROJECTS = [("none", "none"), ("sqlite", "accounts"), ("postgresql", "accounts")]
DATA_LAYER = (
    "alembic.ini",
    "inventory/db.py",
    "inventory/models.py",
    "inventory/items.py",
    "inventory/validation.py",
    "inventory/migrations/env.py",
    "inventory/migrations/script.py.mako",
    "inventory/migrations/versions/20260101_5c2b8a3e9d41_create_items.py",
    "tests/test_items.py",
    "tests/test_migrations.py",
)
ACCOUNTS = (
    "inventory/accounts.py",
    "inventory/limits.py",
    "inventory/mail.py",
    "inventory/passwords.py",
    "inventory/tokens.py",
    "inventory/migrations/versions/20260201_2c81b405a866_create_users.py",
    "tests/test_accounts.py",
    "tests/test_access_tokens.py",
    "tests/test_mail.py",
    "tests/test_sign_in_limits.py",
)
ALWAYS = (
    "inventory/app.py",
    "inventory/handlers.py",
    "inventory/errors.py",
    "inventory/service.py",
    "inventory/serve.py",
    "inventory/static/robots.txt",
    "tests/conftest.py",
    "tests/test_serve.py",
)


def tornado_data(**given: str) -> dict:
    tornado = catalog.get("tornado")
    return catalog.template_data(tornado, resolve_answers(tornado.questions, given))


SERVER_VARIABLES = ("DATABASE_URL", "TEST_DATABASE_URL", "WEB_CONCURRENCY", "SERVER_BIND")


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the app's and the server's settings, so the project's
    .env decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_", "LISTEN_")) and k not in (*SERVER_VARIABLES, "VIRTUAL_ENV")
    }
    return {**env, **extra}


def test_tornado_serves_itself() -> None:
    data = tornado_data()
    assert data["server"] == "tornado"
    assert data["server_command"] == "python -m my_project.serve"
    assert data["server_dependencies"] == []
    assert data["worker_class"] == ""
    assert data["app_entry"] == "my_project.app:make_app()"
    assert "python -m my_project.serve --bind 127.0.0.1:8888" in data["dev_command"]
    names = {v["name"] for v in data["env_vars"]}
    assert {"SERVER_BIND", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"} <= names


@pytest.mark.parametrize(("database", "auth"), COMBINATIONS)
def test_the_answers_pick_the_files_and_the_dependencies(
    tmp_path: Path, database: str, auth: str
) -> None:
    data = tornado_data(database=database, auth=auth, project_name="Inventory", package="inventory")
    render_layer(TEMPLATES / "tornado", data, tmp_path)
    files = tree_snapshot(tmp_path)
    for path in ALWAYS:
        assert path in files, path
    for path in DATA_LAYER:
        assert (path in files) == (database != "none"), path
    for path in ACCOUNTS:
        assert (path in files) == (auth == "accounts"), path
    dependencies = tomllib.loads(files["pyproject.toml"].decode())["project"]["dependencies"]
    names = {d.split(">")[0] for d in dependencies}
    expected = {"tornado"}
    if database != "none":
        expected |= {"alembic", "sqlalchemy[asyncio]"}
    if database == "sqlite":
        expected.add("aiosqlite")
    if database == "postgresql":
        expected.add("psycopg[binary]")
    if auth == "accounts":
        expected |= {"argon2-cffi", "pyjwt"}
    assert names == expected  # no gunicorn: serve.py runs Tornado's HTTPServer
    app = files["inventory/app.py"].decode()
    assert "Application(" in app and "log_function=log_request" in app
    assert ('"/api/items"' in app) == (database != "none")
    assert ('"/api/token"' in app) == (auth == "accounts")
    serve = files["inventory/serve.py"].decode()
    assert "process.fork_processes(" in serve and "netutil.bind_unix_socket(" in serve
    assert '"unix:/run/inventory/tornado.sock"' in serve
    assert data["migrate_commands"] == ([] if database == "none" else ["alembic upgrade head"])
    for content in files.values():
        assert b"falcon" not in content.lower()


def test_accounts_without_a_database_are_refused(tmp_path: Path) -> None:
    result = run_cli(
        "new",
        str(tmp_path / "inventory"),
        "--framework",
        "tornado",
        "--defaults",
        "--data",
        "auth=accounts",
        "--data",
        "database=none",
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "auth" in result.output
    assert list(tmp_path.iterdir()) == []


def test_render_is_deterministic(tmp_path: Path) -> None:
    first, second = (
        tree_snapshot(generate(tmp_path / name / "service", "tornado", "auth=accounts"))
        for name in ("first", "second")
    )
    first.pop(".env"), second.pop(".env")  # fresh secrets by design, untracked
    assert first == second


@pytest.fixture(scope="module", params=PROJECTS, ids=["-".join(p) for p in PROJECTS])
def tornado_project(
    request, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path, dict[str, str]]]:
    """(database, project, its venv python, env), migrated as a deploy would."""
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"tornado-{database}-{auth}") / "inventory",
        "tornado",
        f"database={database}",
        f"auth={auth}",
        "project_name=Inventory",
    )
    python = make_venv(project)
    with postgres_url() if database == "postgresql" else contextlib.nullcontext("") as url:
        env = clean_env(**({"DATABASE_URL": url} if url else {}))
        commands = [c.split() for c in tornado_data(database=database)["migrate_commands"]]
        migrate_project(project, python, commands, env)
        yield database, project, python, env


@pytest.mark.slow
def test_generated_project_passes_its_own_tests(tornado_project) -> None:
    database, project, python, env = tornado_project
    if database == "sqlite":  # the migrate command found DATABASE_URL in .env
        assert (project / "db.sqlite3").is_file()
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout


@pytest.mark.slow
def test_generated_project_is_ruff_clean(tornado_project) -> None:
    _, project, python, env = tornado_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [str(ruff), *args], cwd=project, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
