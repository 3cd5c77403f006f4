"""The Pyramid layer, for each template language, generated and exercised the way its user would."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from scaffold import catalog
from tests.helpers import free_port, generate, make_venv, run_cli, tree_snapshot

LANGUAGES = catalog.get("pyramid").options[0].choices
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


@pytest.fixture(scope="module", params=LANGUAGES)
def installed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(language, project, venv python): one bake per template language, installed with uv."""
    language = request.param
    project = bake(
        tmp_path_factory.mktemp(f"pyramid-{language}") / "website",
        language,
        *AWKWARD_ANSWERS[language],
    )
    return language, project, make_venv(project)


@pytest.mark.slow
def test_each_language_passes_its_own_tests(installed) -> None:
    language, project, python = installed
    result = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout
    assert " passed" in result.stdout


@pytest.mark.slow
def test_each_language_is_ruff_clean_and_leaves_git_clean(installed) -> None:
    language, project, python = installed
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
    language, project, python = installed
    port = free_port()
    # development.ini listens on 6543; only the server section is swapped for a free port.
    ini = tmp_path / "pserve.ini"
    ini.write_text(
        f"[app:main]\nuse = config:{project / 'development.ini'}#main\n\n"
        f"[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:{port}\n"
    )
    assert "use = egg:waitress#main" in (project / "development.ini").read_text()
    env = {k: v for k, v in os.environ.items() if k != "SESSION_SECRET"}
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
