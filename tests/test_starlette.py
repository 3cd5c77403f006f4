"""The Starlette layer: every `database` and `auth` answer rendered, and three projects
generated, installed and exercised with their own suites and ruff."""

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
ANSWERS = [(d, "none") for d in DATABASES] + [("sqlite", "accounts"), ("postgresql", "accounts")]
# (database, auth) of the projects the slow tests build: CI's time is short.
PROJECTS = [("none", "none"), ("sqlite", "accounts"), ("postgresql", "accounts")]
DATA_LAYER = (
    "alembic.ini",
    "inventory/auth.py",
    "inventory/db.py",
    "inventory/items.py",
    "inventory/models.py",
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


def starlette_data(**given: str) -> dict:
    starlette = catalog.get("starlette")
    return catalog.template_data(starlette, resolve_answers(starlette.questions, given))


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the app's settings, so the project's .env decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("APP_")
        and k not in ("DATABASE_URL", "TEST_DATABASE_URL", "VIRTUAL_ENV")
    }
    return {**env, **extra}


@pytest.fixture(scope="module", params=PROJECTS, ids=["-".join(p) for p in PROJECTS])
def starlette_project(
    request, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path, dict[str, str]]]:
    """(database, project, its venv python, env), migrated as a deploy would."""
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"starlette-{database}-{auth}") / "inventory",
        "starlette",
        f"database={database}",
        f"auth={auth}",
        "project_name=Inventory",
    )
    python = make_venv(project)
    with postgres_url() if database == "postgresql" else contextlib.nullcontext("") as url:
        env = clean_env(**({"DATABASE_URL": url} if url else {}))
        commands = [c.split() for c in starlette_data(database=database)["migrate_commands"]]
        migrate_project(project, python, commands, env)
        yield database, project, python, env


def test_the_catalog_serves_the_factory_with_gunicorns_asgi_worker() -> None:
    data = starlette_data()
    assert data["interface"] == "asgi"
    assert data["worker_class"] == catalog.WORKER_CLASSES["asgi"]
    assert data["server_dependencies"] == list(catalog.SERVER_DEPENDENCIES["asgi"])
    starlette = catalog.get("starlette")
    assert starlette.app_entry == "{package}.app:create_app()"
    assert "uvicorn --factory" in starlette.dev_command
    assert not starlette.serves_pages
    assert data["migrate_commands"] == ["alembic upgrade head"]


@pytest.mark.parametrize(("database", "auth"), ANSWERS)
def test_the_answers_pick_the_files_and_the_dependencies(
    tmp_path: Path, database: str, auth: str
) -> None:
    data = starlette_data(database=database, auth=auth, project_name="Inventory")
    render_layer(TEMPLATES / "starlette", data, tmp_path)
    files = tree_snapshot(tmp_path)
    for path in DATA_LAYER:
        assert (path in files) == (database != "none"), path
    for path in ACCOUNTS:
        assert (path in files) == (auth == "accounts"), path
    pyproject = tomllib.loads(files["pyproject.toml"].decode())
    names = {d.split(">")[0] for d in pyproject["project"]["dependencies"]}
    expected = {"starlette", "gunicorn"}
    if database != "none":
        expected |= {"alembic", "sqlalchemy[asyncio]"}
    if database == "sqlite":
        expected.add("aiosqlite")
    if database == "postgresql":
        expected.add("psycopg[binary]")
    if auth == "accounts":
        expected |= {"argon2-cffi", "pyjwt", "python-multipart"}
    assert names == expected
    dev = {d.split(">")[0] for d in pyproject["project"]["optional-dependencies"]["dev"]}
    assert {"httpx2", "uvicorn", "pytest", "pytest-cov", "ruff"} <= dev
    app = files["inventory/app.py"].decode()
    assert ('Route("/api/items", Items)' in app) == (database != "none")
    assert ('"/api/token"' in app) == (auth == "accounts")
    assert ("lifespan=lifespan" in app) == (database != "none")
    assert ("AuthenticationMiddleware" in app) == (database != "none")


def test_starlette_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "inventory", "starlette", "auth=accounts")
    app = (project / "inventory" / "app.py").read_text()
    # Starlette's documented shape: routes, middleware and a lifespan given to the constructor.
    for idiom in ("Starlette(", "routes=routes", "middleware=middleware", "exception_handlers="):
        assert idiom in app, idiom
    assert 'Mount("/static", app=StaticFiles(' in app
    db = (project / "inventory" / "db.py").read_text()
    assert "create_async_engine(" in db and "await engine.dispose()" in db
    items = (project / "inventory" / "items.py").read_text()
    assert "class Items(HTTPEndpoint)" in items and "@require_authenticated" in items
    # Blocking work (Argon2, smtplib) goes to Starlette's threadpool, off the event loop.
    assert "run_in_threadpool(" in (project / "inventory" / "passwords.py").read_text()


def test_every_variable_the_app_reads_is_in_env_example(tmp_path: Path) -> None:
    project = generate(tmp_path / "inventory", "starlette", "project_name=Inventory")
    example = (project / ".env.example").read_text()
    config = (project / "inventory" / "config.py").read_text()
    for name in ("APP_LOG_LEVEL", "APP_API_TOKEN", "DATABASE_URL"):
        assert name in config
        assert f"\n{name}=" in example
    env = dict(
        line.split("=", 1) for line in (project / ".env").read_text().splitlines() if "=" in line
    )
    assert len(env["APP_API_TOKEN"]) == 64  # a fresh secret, only in the untracked .env


def test_with_accounts_the_app_reads_the_secret_and_mail_settings(tmp_path: Path) -> None:
    project = generate(
        tmp_path / "inventory", "starlette", "project_name=Inventory", "auth=accounts"
    )
    example = (project / ".env.example").read_text()
    config = (project / "inventory" / "config.py").read_text()
    names = ("APP_SECRET_KEY", "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD")
    for name in (*names, "MAIL_FROM", "DATABASE_URL"):
        assert name in config, name
        assert f"\n{name}=" in example, name
    assert "APP_API_TOKEN" not in config + example + (project / ".env").read_text()


def test_accounts_without_a_database_are_refused(tmp_path: Path) -> None:
    result = run_cli(
        "new",
        str(tmp_path / "inventory"),
        "--framework",
        "starlette",
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
        tree_snapshot(generate(tmp_path / name / "service", "starlette", "auth=accounts"))
        for name in ("first", "second")
    )
    first.pop(".env"), second.pop(".env")  # fresh secrets by design, untracked
    assert first == second


@pytest.mark.slow
def test_generated_project_passes_its_own_tests(starlette_project) -> None:
    database, project, python, env = starlette_project
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
def test_generated_project_builds_a_starlette_app(starlette_project) -> None:
    _, project, python, env = starlette_project
    code = (
        "from inventory.app import create_app; app = create_app(); "
        "print(type(app).__module__ + '.' + type(app).__name__)"
    )
    minimal = {"APP_API_TOKEN": "x", "APP_SECRET_KEY": "k" * 64, "PATH": "/usr/bin:/bin"}
    if "DATABASE_URL" in env:
        minimal["DATABASE_URL"] = env["DATABASE_URL"]
    result = subprocess.run(
        [str(python), "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        env=minimal,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "starlette.applications.Starlette"


@pytest.mark.slow
def test_generated_project_is_ruff_clean(starlette_project) -> None:
    _, project, python, env = starlette_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [str(ruff), *args], cwd=project, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
