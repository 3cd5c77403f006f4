"""The Sanic layer: every `database` and `auth` answer rendered, and three generated projects
(no database; sqlite with accounts; PostgreSQL with accounts) that run their own suite, serve.py
on Sanic's own server included, and ruff."""

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
    "inventory/decorators.py",
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
    "inventory/config.py",
    "inventory/errors.py",
    "inventory/logs.py",
    "inventory/middleware.py",
    "inventory/proxy.py",
    "inventory/service.py",
    "inventory/serve.py",
    "inventory/static/robots.txt",
    "tests/conftest.py",
    "tests/test_logs.py",
    "tests/test_serve.py",
)
SERVER_VARIABLES = ("DATABASE_URL", "TEST_DATABASE_URL", "WEB_CONCURRENCY", "SERVER_BIND")


def sanic_data(**given: str) -> dict:
    sanic = catalog.get("sanic")
    return catalog.template_data(sanic, resolve_answers(sanic.questions, given))


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the app's and the server's settings, so the project's
    .env decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APP_", "LISTEN_", "SANIC_"))
        and k not in (*SERVER_VARIABLES, "FORWARDED_ALLOW_IPS", "VIRTUAL_ENV")
    }
    return {**env, **extra}


def test_sanic_serves_itself() -> None:
    data = sanic_data()
    assert data["server"] == "sanic"
    assert data["server_command"] == "python -m my_project.serve"
    assert data["server_dependencies"] == []
    assert data["app_entry"] == "my_project.app:create_app"
    assert data["dev_command"].endswith("sanic my_project.app:create_app --factory --dev")
    names = {v["name"] for v in data["env_vars"]}
    assert {"SERVER_BIND", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"} <= names


@pytest.mark.parametrize(("database", "auth"), COMBINATIONS)
def test_the_answers_pick_the_files_and_the_dependencies(
    tmp_path: Path, database: str, auth: str
) -> None:
    data = sanic_data(database=database, auth=auth, project_name="Inventory", package="inventory")
    render_layer(TEMPLATES / "sanic", data, tmp_path)
    files = tree_snapshot(tmp_path)
    for path in ALWAYS:
        assert path in files, path
    for path in DATA_LAYER:
        assert (path in files) == (database != "none"), path
    for path in ACCOUNTS:
        assert (path in files) == (auth == "accounts"), path
    dependencies = tomllib.loads(files["pyproject.toml"].decode())["project"]["dependencies"]
    names = {d.split(">")[0] for d in dependencies}
    expected = {"sanic"}
    if database != "none":
        expected |= {"alembic", "sqlalchemy[asyncio]"}
    if database == "sqlite":
        expected.add("aiosqlite")
    if database == "postgresql":
        expected.add("psycopg[binary]")
    if auth == "accounts":
        expected |= {"argon2-cffi", "pyjwt"}
    assert names == expected  # no gunicorn: serve.py runs Sanic's own server
    app = files["inventory/app.py"].decode()
    assert 'Sanic(\n        "inventory"' in app and "request_class=ProxiedRequest" in app
    assert ("@app.before_server_start" in app) == (database != "none")
    assert ("app.blueprint(items.bp)" in app) == (database != "none")
    assert ("app.blueprint(accounts.bp)" in app) == (auth == "accounts")
    serve = files["inventory/serve.py"].decode()
    assert "Sanic.serve(primary=app, app_loader=loader)" in serve
    assert "motd=False" in serve and "access_log=True" in serve
    assert '"unix:/run/inventory/sanic.sock"' in serve
    assert data["migrate_commands"] == ([] if database == "none" else ["alembic upgrade head"])
    for content in files.values():
        assert b"falcon" not in content.lower()


def test_accounts_without_a_database_are_refused(tmp_path: Path) -> None:
    result = run_cli(
        "new",
        str(tmp_path / "inventory"),
        "--framework",
        "sanic",
        "--defaults",
        "--data",
        "auth=accounts",
        "--data",
        "database=none",
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "auth" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module", params=PROJECTS, ids=["-".join(p) for p in PROJECTS])
def sanic_project(
    request, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path, dict[str, str]]]:
    """(database, project, its venv python, env), migrated as a deploy would."""
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"sanic-{database}-{auth}") / "inventory",
        "sanic",
        f"database={database}",
        f"auth={auth}",
        "project_name=Inventory",
    )
    python = make_venv(project)
    with postgres_url() if database == "postgresql" else contextlib.nullcontext("") as url:
        env = clean_env(**({"DATABASE_URL": url} if url else {}))
        commands = [c.split() for c in sanic_data(database=database)["migrate_commands"]]
        migrate_project(project, python, commands, env)
        yield database, project, python, env


@pytest.mark.slow
def test_generated_project_passes_its_own_tests(sanic_project) -> None:
    database, project, python, env = sanic_project
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
def test_generated_project_is_ruff_clean(sanic_project) -> None:
    _, project, python, env = sanic_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [str(ruff), *args], cwd=project, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
