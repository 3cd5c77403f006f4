"""The aiohttp layer: every `database` and `auth` answer rendered, and three generated projects
(none; sqlite with accounts; postgresql with accounts) that run their own suite and ruff."""

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

COMBINATIONS = [
    ("none", "none"),
    ("sqlite", "none"),
    ("postgresql", "none"),
    ("sqlite", "accounts"),
    ("postgresql", "accounts"),
]
# (database, auth) of the projects the slow tests build: CI's budget allows three.
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
    "inventory/auth.py",
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


def aiohttp_data(**given: str) -> dict:
    framework = catalog.get("aiohttp")
    return catalog.template_data(framework, resolve_answers(framework.questions, given))


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the app's settings, so the project's .env decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("APP_")
        and k not in ("DATABASE_URL", "TEST_DATABASE_URL", "VIRTUAL_ENV", "FORWARDED_ALLOW_IPS")
    }
    return {**env, **extra}


@pytest.fixture(scope="module", params=PROJECTS, ids=["-".join(p) for p in PROJECTS])
def aiohttp_project(
    request, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path, dict[str, str]]]:
    """(database, project, its venv python, env), migrated as a deploy would."""
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"aiohttp-{database}-{auth}") / "inventory",
        "aiohttp",
        f"database={database}",
        f"auth={auth}",
        "project_name=Inventory",
    )
    python = make_venv(project)
    with postgres_url() if database == "postgresql" else contextlib.nullcontext("") as url:
        env = clean_env(**({"DATABASE_URL": url} if url else {}))
        commands = [c.split() for c in aiohttp_data(database=database)["migrate_commands"]]
        migrate_project(project, python, commands, env)
        yield database, project, python, env


def test_gunicorn_serves_the_async_factory_with_aiohttps_worker() -> None:
    data = aiohttp_data(project_name="Inventory")
    # No call: the worker awaits the factory itself, in its own event loop.
    assert data["app_entry"] == "inventory.app:create_app"
    # aiohttp.GunicornWebWorker, subclassed in the project (worker.py): its package is filled in.
    assert data["worker_class"] == "inventory.worker.WebWorker"
    assert data["dev_command"].endswith(
        "python -m aiohttp.web -H 127.0.0.1 -P 8080 inventory.app:create_app"
    )


def test_the_access_log_format_is_aiohttps_and_ends_with_the_duration() -> None:
    log_format = aiohttp_data()["access_log_format"]
    assert "%(" not in log_format  # aiohttp's worker refuses gunicorn's codes
    for code in ('"%{X-Forwarded-For}i"', '"%r"', " %s ", " %b ", "%{Referer}i", "%{User-Agent}i"):
        assert code in log_format, code
    assert log_format.endswith(" %Dus")  # microseconds: aiohttp has no milliseconds code


def test_sqlite_needs_an_async_driver() -> None:
    assert aiohttp_data(database="sqlite")["database_dependencies"] == ["aiosqlite>=0.20"]
    assert aiohttp_data(database="postgresql")["database_dependencies"] == ["psycopg[binary]>=3.2"]
    assert aiohttp_data(database="none")["database_dependencies"] == []


def test_with_accounts_the_app_reads_the_secret_and_mail_settings(tmp_path: Path) -> None:
    project = generate(tmp_path / "inventory", "aiohttp", "project_name=Inventory", "auth=accounts")
    example = (project / ".env.example").read_text()
    config = (project / "inventory" / "config.py").read_text()
    names = ("APP_SECRET_KEY", "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD")
    for name in (*names, "MAIL_FROM", "DATABASE_URL", "FORWARDED_ALLOW_IPS"):
        assert name in config, name
        assert f"\n{name}=" in example, name
    assert "APP_API_TOKEN" not in config + example + (project / ".env").read_text()


def test_without_accounts_writes_need_the_api_token(tmp_path: Path) -> None:
    project = generate(tmp_path / "inventory", "aiohttp", "project_name=Inventory")
    assert "APP_API_TOKEN" in (project / "inventory" / "config.py").read_text()
    token = next(
        line
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("APP_API_TOKEN=")
    )
    assert len(token.partition("=")[2]) == 64


def test_accounts_without_a_database_are_refused(tmp_path: Path) -> None:
    result = run_cli(
        "new",
        str(tmp_path / "inventory"),
        "--framework",
        "aiohttp",
        "--defaults",
        "--data",
        "auth=accounts",
        "--data",
        "database=none",
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "auth" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("database", "auth"), COMBINATIONS)
def test_the_answers_pick_the_layers_and_the_drivers(
    tmp_path: Path, database: str, auth: str
) -> None:
    data = aiohttp_data(database=database, auth=auth, project_name="Inventory")
    render_layer(TEMPLATES / "aiohttp", data, tmp_path)
    files = tree_snapshot(tmp_path)
    for path in DATA_LAYER:
        assert (path in files) == (database != "none"), path
    for path in ACCOUNTS:
        assert (path in files) == (auth == "accounts"), path
    dependencies = tomllib.loads(files["pyproject.toml"].decode())["project"]["dependencies"]
    names = {d.split(">")[0] for d in dependencies}
    expected = {"aiohttp", "gunicorn"}
    if database != "none":
        expected |= {"alembic", "sqlalchemy[asyncio]"}
    if database == "sqlite":
        expected.add("aiosqlite")
    if database == "postgresql":
        expected.add("psycopg[binary]")
    if auth == "accounts":
        expected |= {"argon2-cffi", "pyjwt"}
    assert names == expected
    app = files["inventory/app.py"].decode()
    assert "async def create_app(" in app
    assert ("app.cleanup_ctx.append(" in app) == (database != "none")
    assert ("accounts.routes" in app) == (auth == "accounts")
    assert data["migrate_commands"] == ([] if database == "none" else ["alembic upgrade head"])


def test_render_is_deterministic(tmp_path: Path) -> None:
    first, second = (
        tree_snapshot(generate(tmp_path / name / "service", "aiohttp", "auth=accounts"))
        for name in ("first", "second")
    )
    first.pop(".env"), second.pop(".env")  # fresh secrets by design, untracked
    assert first == second


@pytest.mark.slow
def test_generated_project_passes_its_own_tests(aiohttp_project) -> None:
    database, project, python, env = aiohttp_project
    if database == "sqlite":  # the migrate command found DATABASE_URL in .env
        assert (project / "db.sqlite3").is_file()
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout


@pytest.mark.slow
def test_generated_project_is_ruff_clean(aiohttp_project) -> None:
    _, project, python, env = aiohttp_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [str(ruff), *args], cwd=project, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
