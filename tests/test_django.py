"""The Django layer, generated and exercised the way its user would: install, test, migrate,
collectstatic, `check --deploy` under production settings, and an admin login on runserver."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scaffold import catalog
from tests.helpers import generate, make_venv, run_cli, tree_snapshot
from tests.postgres import postgres_url

DJANGO = catalog.get("django")
MIGRATIONS = (
    "shop/users/migrations/0001_initial.py",
    "shop/pages/migrations/0001_initial.py",
    "shop/pages/migrations/0002_alter_page_slug.py",
    "shop/items/migrations/0001_initial.py",
)
# auth=accounts adds these: sign-in by email, and the table the sign-in limits count in.
ACCOUNT_MIGRATIONS = (
    "shop/users/migrations/0002_sign_in_by_email.py",
    "shop/accounts/migrations/0001_initial.py",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without Django settings, so the project's .env decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DJANGO_") and k not in ("DATABASE_URL", "VIRTUAL_ENV")
    }
    return {**env, **extra}


def run(
    python: Path,
    *args: str,
    cwd: Path,
    env: dict[str, str],
    timeout: int = 300,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(
    scope="module",
    params=[
        ("sqlite", "none"),
        ("postgresql", "none"),
        ("sqlite", "accounts"),
        ("postgresql", "accounts"),
    ],
    ids=lambda param: "-".join(param),
)
def django_project(
    request,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """(project, its venv python, env to run it with), for each `database` x `auth` answer."""
    database, auth = request.param
    project = generate(
        tmp_path_factory.mktemp(f"{database}-{auth}") / "shop",
        "django",
        "project_name=Shop",
        f"database={database}",
        f"auth={auth}",
    )
    python = make_venv(project)
    if database == "sqlite":
        yield project, python, clean_env()
        return
    with postgres_url() as url:
        yield project, python, clean_env(DATABASE_URL=url)


@pytest.mark.slow
def test_generated_project_passes_its_own_tests(django_project) -> None:
    project, python, env = django_project
    result = run(
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout
    assert re.search(r"\d+ passed", result.stdout)


@pytest.mark.slow
def test_generated_project_is_ruff_clean(django_project) -> None:
    project, python, env = django_project
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [str(python.parent / "ruff"), *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_catalog_prepare_and_checks_pass_with_production_settings(django_project) -> None:
    """What `scaffold check` runs: collectstatic, migrate, check --deploy, makemigrations."""
    project, python, env = django_project
    answers = {"package": "shop"}
    production = {**env, **{k: DJANGO.fill(v, answers) for k, v in DJANGO.production_env}}
    assert production["DJANGO_SETTINGS_MODULE"] == "shop.settings.production"
    for command in DJANGO.prepare + DJANGO.checks:
        assert command[0] == "python"
        result = run(python, *command[1:], cwd=project, env=production)
        assert result.returncode == 0, f"{command}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
    static_root = project / DJANGO.fill(DJANGO.static_dir, answers)
    assert (static_root / DJANGO.static_probe).is_file()
    assert (static_root / "admin/css/base.css").is_file()
    # Tooling leaves the tree as committed: db, staticfiles, .venv and coverage are ignored.
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    assert status == ""


@pytest.mark.slow
def test_check_deploy_is_clean_and_refuses_a_development_key(django_project) -> None:
    project, python, env = django_project
    production = {**env, "DJANGO_SETTINGS_MODULE": "shop.settings.production"}
    result = run(
        python,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        cwd=project,
        env=production,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr
    for key in ("", "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef"):
        result = run(
            python, "manage.py", "check", cwd=project, env={**production, "DJANGO_SECRET_KEY": key}
        )
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY is missing or a development key" in result.stderr


@pytest.mark.slow
def test_healthz_fails_until_migrations_are_applied_in_the_state_directory(
    django_project, tmp_path: Path
) -> None:
    """A deploy that skipped migrate is caught by /healthz (503, not a 200 over broken pages),
    and under systemd the SQLite file is created in $STATE_DIRECTORY, the one writable place."""
    project, python, env = django_project
    if "DATABASE_URL" in env:
        pytest.skip("SQLite case: a fresh state directory is a fresh database")
    state = tmp_path / "state"
    state.mkdir()
    production = {
        **env,
        "DJANGO_SETTINGS_MODULE": "shop.settings.production",
        "STATE_DIRECTORY": str(state),
    }
    probe = (
        "from django.test import Client; "
        "response = Client().get('/healthz'); "
        "print(response.status_code, response.content.decode())"
    )
    before = run(python, "manage.py", "shell", "-c", probe, cwd=project, env=production)
    assert before.stdout.splitlines()[-1].startswith("503 "), before.stdout + before.stderr
    assert "unapplied" in before.stdout
    migrate = run(python, "manage.py", "migrate", "--noinput", cwd=project, env=production)
    assert migrate.returncode == 0, migrate.stderr
    assert (state / "db.sqlite3").is_file()
    after = run(python, "manage.py", "shell", "-c", probe, cwd=project, env=production)
    assert after.stdout.splitlines()[-1].startswith("200 "), after.stdout + after.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


@pytest.mark.slow
def test_new_user_logs_in_to_the_admin_on_runserver(django_project) -> None:
    """migrate, createsuperuser from env vars, runserver, then a real login POST with CSRF.
    With accounts the email is the login, so createsuperuser asks for no username."""
    project, python, env = django_project
    accounts = (project / "shop/accounts").is_dir()
    login = "boss@example.com" if accounts else "boss"
    assert run(python, "manage.py", "migrate", "--noinput", cwd=project, env=env).returncode == 0
    result = run(
        python,
        "manage.py",
        "createsuperuser",
        "--noinput",
        *([] if accounts else ["--username", "boss"]),
        "--email",
        "boss@example.com",
        cwd=project,
        env={**env, "DJANGO_SUPERUSER_PASSWORD": "correct-horse-battery"},
    )
    assert result.returncode == 0 or "already taken" in result.stderr, result.stderr
    base = f"http://127.0.0.1:{_free_port()}"
    server = subprocess.Popen(
        [str(python), "manage.py", "runserver", "--noreload", base.removeprefix("http://")],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(f"{base}/healthz", server)
        cookies = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
        with browser.open(f"{base}/admin/login/?next=/admin/") as page:
            assert page.status == 200
        token = next(c.value for c in cookies if c.name == "csrftoken")
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "username": login,
                "password": "correct-horse-battery",
                "next": "/admin/",
            }
        ).encode()
        login = urllib.request.Request(
            f"{base}/admin/login/?next=/admin/",
            data=form,
            headers={"Referer": f"{base}/admin/login/"},
        )
        with browser.open(login) as landed:  # follows the 302 to /admin/
            assert landed.url == f"{base}/admin/"
            assert b"Site administration" in landed.read()
        assert any(c.name == "sessionid" for c in cookies)
        with browser.open(f"{base}/admin/pages/page/add/") as add_page:
            assert add_page.status == 200
            # The admin renders help texts as HTML: the slug's example survives it whole.
            assert b"about-us for /pages/about-us/" in add_page.read()
        if accounts:  # a visitor signs up on the site's own page, CSRF token and all
            with browser.open(f"{base}/accounts/signup") as page:
                assert b">Sign up</button>" in page.read()
            token = [c.value for c in cookies if c.name == "csrftoken"][-1]
            form = urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": token,
                    "email": "new@example.com",
                    "password1": "correct horse battery staple",
                    "password2": "correct horse battery staple",
                }
            ).encode()
            signup = urllib.request.Request(
                f"{base}/accounts/signup", data=form, headers={"Referer": f"{base}/"}
            )
            with browser.open(signup) as home:  # follows the 302 to /
                assert home.url == f"{base}/"
                assert b"Signed in as new@example.com" in home.read()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_bad_database_answer_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    result = run_cli(
        "new",
        str(tmp_path / "shop"),
        "--framework",
        "django",
        "--defaults",
        "--data",
        "database=mysql",
    )
    assert result.exit_code == 2
    assert "database='mysql' is not one of sqlite, postgresql" in result.output
    assert len(result.output.strip().splitlines()) <= 2  # the error, and maybe its hint
    assert list(tmp_path.iterdir()) == []


def test_render_is_deterministic_including_migrations(tmp_path: Path) -> None:
    for parent in "abc":
        (tmp_path / parent).mkdir()
    first = tree_snapshot(generate(tmp_path / "a" / "shop", "django", "project_name=Shop"))
    second = tree_snapshot(generate(tmp_path / "b" / "shop", "django", "project_name=Shop"))
    assert first.pop(".env") != second.pop(".env")  # fresh secrets, untracked
    assert first == second
    for migration in MIGRATIONS:
        text = first[migration].decode()
        assert ("initial = True" in text) == migration.endswith("0001_initial.py")
        assert not re.search(r"Generated by Django .* on \d", text), "timestamp in a migration"
    # Migrations name app labels only, so another package gets the very same bytes.
    other = tree_snapshot(generate(tmp_path / "c" / "blog", "django", "project_name=Blog"))
    for migration in MIGRATIONS:
        assert other[migration.replace("shop/", "blog/", 1)] == first[migration]
    assert not set(ACCOUNT_MIGRATIONS) & set(first)


def test_accounts_add_two_migrations_that_name_no_package(tmp_path: Path) -> None:
    """auth=accounts keeps auth=none's migrations and adds two after them, so a project that
    switches only has to run migrate; like the others they import nothing from the package."""
    plain = tree_snapshot(generate(tmp_path / "a" / "shop", "django", "project_name=Shop"))
    shop = tree_snapshot(
        generate(tmp_path / "b" / "shop", "django", "project_name=Shop", "auth=accounts")
    )
    blog = tree_snapshot(
        generate(tmp_path / "c" / "blog", "django", "project_name=Blog", "auth=accounts")
    )
    for migration in MIGRATIONS:
        assert shop[migration] == plain[migration]
    for migration in ACCOUNT_MIGRATIONS:
        text = shop[migration].decode()
        assert "shop" not in text
        assert blog[migration.replace("shop/", "blog/", 1)] == shop[migration]
    assert '"users", "0001_initial"' in shop[ACCOUNT_MIGRATIONS[0]].decode()


@pytest.mark.parametrize("auth", ["none", "accounts"])
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_settings_layout_env_and_dependencies(tmp_path: Path, database: str, auth: str) -> None:
    project = generate(
        tmp_path / "shop",
        "django",
        "project_name=Shop",
        "domain=shop.example.org",
        f"database={database}",
        f"auth={auth}",
    )
    assert os.access(project / "manage.py", os.X_OK)
    assert '"shop.settings.dev"' in (project / "manage.py").read_text()
    for entry in ("wsgi.py", "asgi.py"):
        assert '"shop.settings.production"' in (project / "shop" / entry).read_text()
    for module in ("base", "dev", "production"):
        assert (project / f"shop/settings/{module}.py").is_file()
    env = dict(
        line.split("=", 1)
        for line in (project / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert len(env["DJANGO_SECRET_KEY"]) == 64
    if auth == "accounts":  # writes need an account's access token, signed with the secret key
        assert "DJANGO_API_TOKEN" not in env
        assert env["MAIL_FROM"] == "noreply@shop.example.org"
        assert {"SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD"} <= set(env)
    else:
        assert len(env["DJANGO_API_TOKEN"]) >= 32
        assert env["DJANGO_API_TOKEN"] != env["DJANGO_SECRET_KEY"]
        assert "SMTP_HOST" not in env
    assert env["DJANGO_ALLOWED_HOSTS"] == "shop.example.org"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == "https://shop.example.org"
    expected_url = "postgres:///shop" if database == "postgresql" else "sqlite:///db.sqlite3"
    assert env["DATABASE_URL"] == expected_url
    example = (project / ".env.example").read_text()
    assert "DJANGO_SECRET_KEY=\n" in example
    assert ("DJANGO_API_TOKEN=\n" in example) == (auth == "none")
    assert f"DATABASE_URL={expected_url}\n" in example
    pyproject = (project / "pyproject.toml").read_text()
    assert '"django>=5.2,<7"' in pyproject
    assert ("psycopg[binary]" in pyproject) == (database == "postgresql")
    for dependency in ('"argon2-cffi>=23.1"', '"pyjwt>=2.8"'):
        assert (dependency in pyproject) == (auth == "accounts")
    assert (project / "shop/accounts").is_dir() == (auth == "accounts")
    base = (project / "shop/settings/base.py").read_text()
    assert ('"shop.accounts",' in base) == (auth == "accounts")
    assert ("API_TOKEN" in base) == (auth == "none")
    assert 'DJANGO_SETTINGS_MODULE = "shop.settings.dev"' in pyproject
    # Runtime templates are Django's, copied verbatim.
    home = (project / "shop/pages/templates/pages/home.html").read_text()
    assert home.startswith('{% extends "base.html" %}')
    assert "{% static 'css/site.css' %}" in (project / "shop/templates/base.html").read_text()
