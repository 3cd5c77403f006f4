"""The Falcon layer: one template, two interfaces (WSGI and ASGI), each with every `database`
and `auth` answer, generated and exercised."""

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

INTERFACES = ("wsgi", "asgi")
DATABASES = ("none", "sqlite", "postgresql")
COMBINATIONS = [(i, d) for i in INTERFACES for d in DATABASES]
# (interface, database, auth) of every project the slow tests build; accounts need a database.
PROJECTS = [(i, d, "none") for i, d in COMBINATIONS] + [
    (i, d, "accounts") for i in INTERFACES for d in DATABASES if d != "none"
]
DATA_LAYER = (
    "alembic.ini",
    "inventory/db.py",
    "inventory/models.py",
    "inventory/items.py",
    "inventory/hooks.py",
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


def falcon_data(**given: str) -> dict:
    falcon = catalog.get("falcon")
    return catalog.template_data(falcon, resolve_answers(falcon.questions, given))


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
def falcon_project(
    request, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path, Path, dict[str, str]]]:
    """(interface, database, project, its venv python, env), migrated as a deploy would."""
    interface, database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"falcon-{interface}-{database}-{auth}") / "inventory",
        "falcon",
        f"interface={interface}",
        f"database={database}",
        f"auth={auth}",
        "project_name=Inventory",
    )
    python = make_venv(project)
    with postgres_url() if database == "postgresql" else contextlib.nullcontext("") as url:
        env = clean_env(**({"DATABASE_URL": url} if url else {}))
        commands = [c.split() for c in falcon_data(database=database)["migrate_commands"]]
        migrate_project(project, python, commands, env)
        yield interface, database, project, python, env


def test_the_interface_picks_the_worker_class_and_its_dependencies() -> None:
    wsgi, asgi = falcon_data(interface="wsgi"), falcon_data(interface="asgi")
    assert wsgi["worker_class"] == catalog.WORKER_CLASSES["wsgi"]
    assert asgi["worker_class"] == catalog.WORKER_CLASSES["asgi"]
    assert wsgi["worker_class"] != asgi["worker_class"]
    assert wsgi["server_dependencies"] == list(catalog.SERVER_DEPENDENCIES["wsgi"])
    assert asgi["server_dependencies"] == list(catalog.SERVER_DEPENDENCIES["asgi"])
    assert falcon_data()["interface"] == "wsgi"  # the default


def test_every_variable_the_app_reads_is_in_env_example(tmp_path: Path) -> None:
    project = generate(tmp_path / "inventory", "falcon", "project_name=Inventory")
    example = (project / ".env.example").read_text()
    config = (project / "inventory" / "config.py").read_text()
    for name in ("APP_LOG_LEVEL", "APP_API_TOKEN", "DATABASE_URL"):
        assert name in config
        assert f"\n{name}=" in example
    token = next(
        line
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("APP_API_TOKEN=")
    )
    assert len(token.partition("=")[2]) == 64  # a fresh secret, only in the untracked .env


def test_with_accounts_the_app_reads_the_secret_and_mail_settings(tmp_path: Path) -> None:
    project = generate(tmp_path / "inventory", "falcon", "project_name=Inventory", "auth=accounts")
    example = (project / ".env.example").read_text()
    config = (project / "inventory" / "config.py").read_text()
    names = ("APP_SECRET_KEY", "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD")
    for name in (*names, "MAIL_FROM", "DATABASE_URL"):
        assert name in config, name
        assert f"\n{name}=" in example, name
    # Writes need an account's access token: there is no shared token to read or to set.
    assert "APP_API_TOKEN" not in config + example + (project / ".env").read_text()
    env = dict(
        line.split("=", 1) for line in (project / ".env").read_text().splitlines() if "=" in line
    )
    assert len(env["APP_SECRET_KEY"]) == 64


def test_accounts_without_a_database_are_refused(tmp_path: Path) -> None:
    result = run_cli(
        "new",
        str(tmp_path / "inventory"),
        "--framework",
        "falcon",
        "--defaults",
        "--data",
        "auth=accounts",
        "--data",
        "database=none",
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "auth" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", ["tornado", "ASGI ", "wsgi,asgi", ""])
def test_a_bad_interface_is_refused_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    before = sorted(tmp_path.iterdir())
    result = run_cli(
        "new",
        str(tmp_path / "inventory"),
        "--framework",
        "falcon",
        "--defaults",
        "--data",
        f"interface={bad}",
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "interface" in result.output
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("database", "auth"), [(d, "none") for d in DATABASES] + [("sqlite", "accounts")]
)
def test_one_template_serves_both_interfaces(tmp_path: Path, database: str, auth: str) -> None:
    wsgi, asgi = tmp_path / "wsgi", tmp_path / "asgi"
    for dest in (wsgi, asgi):
        data = falcon_data(
            interface=dest.name, database=database, auth=auth, project_name="Inventory"
        )
        render_layer(TEMPLATES / "falcon", data, dest)
    wsgi_files, asgi_files = tree_snapshot(wsgi), tree_snapshot(asgi)
    # The Falcon layer alone: ASGI adds one native async test, the file list is otherwise the same.
    assert set(asgi_files) - set(wsgi_files) == {"tests/test_asgi_conductor.py"}
    assert set(wsgi_files) <= set(asgi_files)

    assert "app = falcon.App(" in wsgi_files["inventory/app.py"].decode()
    assert "app = falcon.asgi.App(" in asgi_files["inventory/app.py"].decode()
    # The whole difference: `async`/`await` keywords, falcon.asgi in place of falcon, and
    # SQLAlchemy's asyncio names; only the modules that make engines and sessions differ more.
    for path, content in wsgi_files.items():
        if path.endswith(".py") and path not in ENGINE_MODULES | THREAD_MODULES:
            assert b"async " not in content, path
            assert as_wsgi(asgi_files[path].decode()) == content.decode(), path
    if database != "none":
        assert "await req.get_media()" in asgi_files["inventory/hooks.py"].decode()
        assert "create_async_engine(" in asgi_files["inventory/db.py"].decode()
        assert "create_async_engine(" not in wsgi_files["inventory/db.py"].decode()


ENGINE_MODULES = {"inventory/db.py", "inventory/migrations/env.py", "tests/conftest.py"}
# With accounts, ASGI runs Argon2 and smtplib in a thread (asyncio.to_thread): these differ more.
THREAD_MODULES = {"inventory/passwords.py", "inventory/mail.py", "tests/test_mail.py"}


def as_wsgi(source: str) -> str:
    for asgi, wsgi in (
        ("async def", "def"),
        ("await ", ""),
        ("falcon.asgi", "falcon"),
        ("from sqlalchemy.ext.asyncio import AsyncSession", "from sqlalchemy.orm import Session"),
        ("AsyncSession", "Session"),
    ):
        source = source.replace(asgi, wsgi)
    return source


@pytest.mark.parametrize(("interface", "database", "auth"), PROJECTS)
def test_the_database_answer_picks_the_data_layer_and_its_drivers(
    tmp_path: Path, interface: str, database: str, auth: str
) -> None:
    data = falcon_data(interface=interface, database=database, auth=auth, project_name="Inventory")
    render_layer(TEMPLATES / "falcon", data, tmp_path)
    files = tree_snapshot(tmp_path)
    for path in DATA_LAYER:
        assert (path in files) == (database != "none"), path
    for path in ACCOUNTS:
        assert (path in files) == (auth == "accounts"), path
    dependencies = tomllib.loads(files["pyproject.toml"].decode())["project"]["dependencies"]
    names = {d.split(">")[0] for d in dependencies}
    expected = {"falcon", "gunicorn"}
    if database != "none":
        expected |= {"alembic", "sqlalchemy[asyncio]" if interface == "asgi" else "sqlalchemy"}
    if interface == "asgi" and database == "sqlite":
        expected.add("aiosqlite")
    if database == "postgresql":
        expected.add("psycopg[binary]")
    if auth == "accounts":
        expected |= {"argon2-cffi", "pyjwt"}
    assert names == expected
    app = files["inventory/app.py"].decode()
    assert ('"/api/items"' in app) == (database != "none")
    assert ('"/api/token"' in app) == (auth == "accounts")
    assert data["migrate_commands"] == ([] if database == "none" else ["alembic upgrade head"])


@pytest.mark.parametrize("interface", INTERFACES)
def test_render_is_deterministic(tmp_path: Path, interface: str) -> None:
    first, second = (
        tree_snapshot(generate(tmp_path / name / "service", "falcon", f"interface={interface}"))
        for name in ("first", "second")
    )
    first.pop(".env"), second.pop(".env")  # fresh secrets by design, untracked
    assert first == second


@pytest.mark.slow
def test_generated_project_passes_its_own_tests(falcon_project) -> None:
    _, database, project, python, env = falcon_project
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
def test_generated_project_builds_the_right_app_class(falcon_project) -> None:
    interface, _, project, python, env = falcon_project
    code = (
        "import falcon, falcon.asgi; from inventory.app import create_app; app = create_app(); "
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
    expected = "falcon.asgi.app.App" if interface == "asgi" else "falcon.app.App"
    assert result.stdout.strip() == expected


@pytest.mark.slow
def test_generated_project_is_ruff_clean(falcon_project) -> None:
    _, _, project, python, env = falcon_project
    ruff = python.parent / "ruff"
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [str(ruff), *args], cwd=project, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
