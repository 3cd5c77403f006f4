"""The Pyramid layer, for each template language and database, generated and exercised the way
its user would."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from scaffold import catalog
from tests.helpers import free_port, generate, make_venv, migrate_project, run_cli, tree_snapshot
from tests.postgres import postgres_url

PYRAMID = catalog.get("pyramid")
LANGUAGES = next(q for q in PYRAMID.options if q.name == "template_language").choices
DATABASES = next(q for q in PYRAMID.options if q.name == "database").choices
# Every database on the default language, every language on the default database, and
# accounts (docs/accounts.md) on two of each.
INSTALLED = (
    [("jinja2", database, "none") for database in DATABASES]
    + [(language, "sqlite", "none") for language in LANGUAGES if language != "jinja2"]
    + [("mako", "sqlite", "accounts"), ("chameleon", "postgresql", "accounts")]
)
# The data layer's files, present exactly when there is a database ("shop" is the package).
DATA_LAYER = (
    "shop/models/__init__.py",
    "shop/models/meta.py",
    "shop/models/item.py",
    "shop/alembic/env.py",
    "shop/alembic/script.py.mako",
    "shop/alembic/versions/0001_create_items.py",
    "shop/scripts/__init__.py",
    "shop/scripts/initialize_db.py",
    "shop/security.py",
    "shop/views/items.py",
    "tests/test_items_api.py",
    "tests/test_database.py",
)
# The files only auth=accounts writes (with a database; "shop" is the package).
ACCOUNTS = (
    "shop/accounts/__init__.py",
    "shop/accounts/limits.py",
    "shop/accounts/mail.py",
    "shop/accounts/passwords.py",
    "shop/accounts/signin.py",
    "shop/accounts/tokens.py",
    "shop/alembic/versions/0002_create_accounts.py",
    "shop/models/user.py",
    "shop/views/accounts.py",
    "shop/views/users.py",
    "tests/test_accounts.py",
    "tests/test_users_api.py",
)
# The layout, the home page and the 404 page, in each engine's own syntax and extension.
PAGE_TEMPLATES = {
    "jinja2": {"layout.jinja2", "home.jinja2", "404.jinja2"},
    "chameleon": {"layout.pt", "home.pt", "404.pt"},
    "mako": {"layout.mako", "home.mako", "404.mako"},
}
# Each installed bake also carries awkward answers, so its own suite proves they survive.
AWKWARD_ANSWERS = {
    "jinja2": (),
    "chameleon": ("project_name=Café 'Quoted' <Shop> & 100%",),
    "mako": ("package=" + "m" * 24, "description=" + "A long description; " * 9 + "<end> & %."),
}


def bake(dest: Path, language: str, *data: str) -> Path:
    return generate(dest, "pyramid", f"template_language={language}", *data)


def package_dir(project: Path) -> Path:
    (init,) = [p for p in project.glob("*/__init__.py") if p.parent.name != "tests"]
    return init.parent


def run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the app's settings, so the project's .env decides."""
    names = {"DATABASE_URL", "TEST_DATABASE_URL", "SESSION_SECRET", "PYRAMID_API_TOKEN"}
    env = {k: v for k, v in os.environ.items() if k not in names and k != "VIRTUAL_ENV"}
    return {**env, **extra}


@pytest.fixture(
    scope="module",
    params=INSTALLED,
    ids=[f"{lang}-{db}" + ("-accounts" if auth != "none" else "") for lang, db, auth in INSTALLED],
)
def installed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path, dict[str, str]]]:
    """(language, project, venv python, env): one bake per row of INSTALLED, installed with
    uv and migrated with the catalog's command, as a deploy would."""
    language, database, auth = request.param
    project = bake(
        tmp_path_factory.mktemp(f"pyramid-{language}-{database}-{auth}") / "website",
        language,
        f"database={database}",
        f"auth={auth}",
        *AWKWARD_ANSWERS[language],
    )
    python = make_venv(project)
    with postgres_url() if database == "postgresql" else contextlib.nullcontext("") as url:
        env = clean_env(**({"DATABASE_URL": url} if url else {}))
        commands = PYRAMID.migrate_for({"database": database, "package": "website"})
        migrate_project(project, python, commands, env)
        yield language, project, python, env


@pytest.mark.slow
def test_each_bake_passes_its_own_tests(installed) -> None:
    language, project, python, env = installed
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout
    assert " passed" in result.stdout


@pytest.mark.slow
def test_each_bake_is_ruff_clean_and_leaves_git_clean(installed) -> None:
    language, project, python, _ = installed
    ruff = python.parent / "ruff"
    for args in (["check", "."], ["format", "--check", "."]):
        result = run([str(ruff), *args], project)
        assert result.returncode == 0, language + result.stdout + result.stderr
    assert run(["git", "status", "--porcelain"], project).stdout == ""


def http_get(port: int, path: str) -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


@pytest.mark.slow
def test_pserve_development_ini_serves_the_home_page(installed, tmp_path: Path) -> None:
    """`pserve development.ini --reload`: its app section, with the secret read from .env."""
    language, project, python, installed_env = installed
    port = free_port()
    # development.ini listens on 6543; only the server section is swapped for a free port.
    ini = tmp_path / "pserve.ini"
    ini.write_text(
        f"[app:main]\nuse = config:{project / 'development.ini'}#main\n\n"
        f"[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:{port}\n"
    )
    assert "use = egg:waitress#main" in (project / "development.ini").read_text()
    env = dict(installed_env)  # the migrated database, when DATABASE_URL names one
    log = tmp_path / "pserve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(python.parent / "pserve"), str(ini), "--reload"],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, content_type, body = http_get(port, "/")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"pserve did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)
        assert status == 200, body
        assert content_type.startswith("text/html")
        assert "Visits this session: 1" in body
        assert "pDebug" in body  # pyramid_debugtoolbar is on in development
        status, content_type, body = http_get(port, "/healthz")
        assert (status, content_type.split(";")[0]) == (200, "application/json")
        assert body == '{"status": "ok"}'
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # --reload runs the server in a child process
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_gets_its_own_templates_and_renderer(language: str, tmp_path: Path) -> None:
    project = bake(tmp_path / "website", language)
    package = package_dir(project)
    templates = {p.name for p in (package / "templates").iterdir()}
    assert templates == PAGE_TEMPLATES[language]
    init = (package / "__init__.py").read_text()
    assert f'config.include("pyramid_{language}")' in init
    assert f'"pyramid_{language}>=' in (project / "pyproject.toml").read_text()
    extension = next(iter(PAGE_TEMPLATES[language])).rsplit(".", 1)[1]
    views = (package / "views" / "default.py").read_text()
    assert f':templates/home.{extension}"' in views


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_scaffold_syntax_leaks_into_the_output(language: str, tmp_path: Path) -> None:
    project = bake(tmp_path / "website", language)
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.parts or path.suffix == ".jinja2":
            continue  # Jinja2 runtime templates use {{ }} themselves
        # GitHub Actions expressions (${{ ... }}) in the CI workflow are meant to stay.
        text = re.sub(r"\$\{\{.*?\}\}", "", path.read_text(errors="replace"))
        assert "{{" not in text and "{%" not in text, path
        if path.suffix == ".py":
            compile(text, str(path), "exec")


def test_pyramid_idioms_are_present(tmp_path: Path) -> None:
    project = bake(tmp_path / "website", "jinja2", "project_name=Shop")
    init = (project / "shop" / "__init__.py").read_text()
    assert "def main(global_config" in init
    assert 'config.include(".routes")' in init and "config.scan(" in init
    assert "return config.make_wsgi_app()" in init
    assert 'os.environ.get("SESSION_SECRET"' in init
    assert "def includeme(config" in (project / "shop" / "routes.py").read_text()
    assert "@notfound_view_config" in (project / "shop" / "views" / "notfound.py").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    assert '[project.entry-points."paste.app_factory"]\nmain = "shop:main"' in pyproject
    development = (project / "development.ini").read_text()
    production = (project / "production.ini").read_text()
    assert "pyramid_debugtoolbar" in development and "pyramid_debugtoolbar" not in production
    assert "pyramid.reload_templates = true" in development
    assert "pyramid.reload_templates = false" in production
    for ini in (development, production):
        assert "[loggers]" in ini and "use = egg:shop" in ini
        assert "SESSION_SECRET" not in ini and "secret =" not in ini
    assert "SESSION_SECRET=" in (project / ".env.example").read_text()
    assert "get_app(INI_FILE" in (project / "shop" / "wsgi.py").read_text()
    assert 'wsgi_app = "shop.wsgi:application"' in (project / "deploy/gunicorn.conf.py").read_text()


@pytest.mark.parametrize("language", LANGUAGES)
def test_render_is_deterministic_for_each_language(language: str, tmp_path: Path) -> None:
    first = tree_snapshot(bake(tmp_path / "a" / "website", language))
    second = tree_snapshot(bake(tmp_path / "b" / "website", language))
    # .env holds fresh secrets each time, and is untracked.
    assert first.pop(".env") != second.pop(".env")
    assert first == second


@pytest.mark.parametrize("value", ["jinja", "Jinja2", "django", ""])
def test_bad_template_language_is_refused_and_nothing_written(value: str, tmp_path: Path) -> None:
    dest = tmp_path / "website"
    result = run_cli(
        "new",
        str(dest),
        "--framework",
        "pyramid",
        "--defaults",
        "--data",
        f"template_language={value}",
    )
    assert result.exit_code == 2
    assert "template_language" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("database", DATABASES)
def test_the_database_answer_picks_the_data_layer(tmp_path: Path, database: str) -> None:
    project = bake(tmp_path / "shop", "jinja2", f"database={database}")
    files = tree_snapshot(project)
    for path in DATA_LAYER:
        assert (path in files) == (database != "none"), path
    pyproject = tomllib.loads(files["pyproject.toml"].decode())
    names = {d.split(">")[0].split("<")[0] for d in pyproject["project"]["dependencies"]}
    data_layer = {"alembic", "pyramid_retry", "pyramid_tm", "SQLAlchemy", "transaction"}
    data_layer |= {"zope.sqlalchemy"}
    expected = {"pyramid", "pyramid_jinja2", "python-dotenv", "gunicorn"}
    if database != "none":
        expected |= data_layer
    if database == "postgresql":
        expected.add("psycopg[binary]")
    assert names == expected
    scripts = pyproject["project"].get("scripts", {})
    expected_scripts = {"initialize_shop_db": "shop.scripts.initialize_db:main"}
    assert scripts == ({} if database == "none" else expected_scripts)
    routes = files["shop/routes.py"].decode()
    assert ('"/api/items"' in routes) == (database != "none")
    for ini in ("production.ini", "development.ini", "testing.ini"):
        text = files[ini].decode()
        assert ("\n[alembic]\nscript_location = %(here)s/shop/alembic\n" in text) == (
            database != "none"
        ), ini
        assert ("sqlalchemy.url = " in text) == (database != "none"), ini
    production = files["production.ini"].decode()
    if database == "postgresql":
        assert "sqlalchemy.url = postgresql+psycopg:///shop\n" in production
    if database == "sqlite":
        assert "sqlalchemy.url = sqlite:///db.sqlite3\n" in production
    env_example = files[".env.example"].decode()
    assert ("\nDATABASE_URL=" in env_example) == (database != "none")
    assert ("\nPYRAMID_API_TOKEN=\n" in env_example) == (database != "none")
    migrate = [] if database == "none" else [("alembic", "-c", "production.ini", "upgrade", "head")]
    assert PYRAMID.migrate_for({"database": database, "package": "shop"}) == migrate


def test_the_data_layer_uses_the_starters_idioms(tmp_path: Path) -> None:
    project = bake(tmp_path / "shop", "jinja2", "database=sqlite")
    models = (project / "shop" / "models" / "__init__.py").read_text()
    for name in ("get_engine", "get_session_factory", "get_tm_session", "includeme"):
        assert f"def {name}(" in models
    assert "config.add_request_method(dbsession, reify=True)" in models
    assert 'config.include("pyramid_tm")' in models and 'config.include("pyramid_retry")' in models
    assert "zope.sqlalchemy.register(" in models
    assert "naming_convention=" in (project / "shop" / "models" / "meta.py").read_text()
    items = (project / "shop" / "views" / "items.py").read_text()
    assert '@view_config(route_name="items", request_method="GET", renderer="json")' in items
    assert 'config.include(".models")' in (project / "shop" / "__init__.py").read_text()
    conftest = (project / "tests" / "conftest.py").read_text()
    assert "manager.doom()" in conftest and '"tm.manager": tm' in conftest
    assert "outer = connection.begin()" in conftest


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_auth_answer_adds_accounts_in_pyramids_idiom(language: str, tmp_path: Path) -> None:
    project = bake(tmp_path / "shop", language, "database=sqlite", "auth=accounts")
    files = tree_snapshot(project)
    for path in ACCOUNTS:
        assert path in files, path
    extension = {"jinja2": "jinja2", "chameleon": "pt", "mako": "mako"}[language]
    assert f"shop/templates/account.{extension}" in files
    pyproject = tomllib.loads(files["pyproject.toml"].decode())
    names = {d.split(">")[0] for d in pyproject["project"]["dependencies"]}
    assert {"argon2-cffi", "pyjwt", "pyramid_mailer", "repoze.sendmail"} <= names
    security = files["shop/security.py"].decode()
    for idiom in ("SessionAuthenticationHelper()", "ACLHelper()", "__acl__", "RequestLocalCache"):
        assert idiom in security, idiom
    init = files["shop/__init__.py"].decode()
    assert "config.set_root_factory(Root)" in init and "PYRAMID_API_TOKEN" not in init
    assert "config.set_default_csrf_options(require_csrf=True)" in init
    pages = files["shop/views/accounts.py"].decode()
    assert "request.session.invalidate()" in pages and "remember(request" in pages
    api = files["shop/views/users.py"].decode()
    assert 'permission="account"' in api and "require_csrf=False" in api
    assert 'permission="write"' in files["shop/views/items.py"].decode()
    routes = files["shop/routes.py"].decode()
    for path in ("/accounts/signup", "/accounts/login", "/accounts/logout", "/api/token"):
        assert f'"{path}"' in routes, path
    layout = files[f"shop/templates/layout.{extension}"].decode()
    assert "Signed in as" in layout and "Sign out</button>" in layout
    assert "pyramid.includes = pyramid_mailer.testing" in files["testing.ini"].decode()
    env_example = files[".env.example"].decode()
    assert "\nSMTP_HOST=" in env_example and "PYRAMID_API_TOKEN" not in env_example
    for path, content in files.items():
        if path.endswith(".py"):
            text = content.decode()
            assert "{{" not in text and "{%" not in text, path
            compile(text, path, "exec")


def test_without_accounts_none_of_their_files_exist(tmp_path: Path) -> None:
    files = tree_snapshot(bake(tmp_path / "shop", "jinja2", "database=sqlite"))
    for path in ACCOUNTS:
        assert path not in files, path
    assert not any(path.startswith("shop/templates/account.") for path in files)
    assert "argon2" not in files["pyproject.toml"].decode()


def test_accounts_need_a_database(tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    args = ["new", str(dest), "--framework", "pyramid", "--defaults"]
    result = run_cli(*args, "--data", "database=none", "--data", "auth=accounts")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert not dest.exists()
