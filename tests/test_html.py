"""Every HTML page a generated project serves, fetched through its framework's own test client
and parsed: one favicon link to the SVG in static/, one meta description saying what the
`description` answer says. Falcon's and FastAPI's home pages are JSON; FastAPI's HTML page is
its /docs, which gets the favicon (Swagger UI's page has no meta description)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.helpers import generate, make_venv, run

# Quotes, an ampersand, angle brackets and non-ASCII: each must reach the attribute escaped.
DESCRIPTION = "Sells 'things' & <stuff>, naïvely."
FAVICON = "/static/favicon.svg"
CHROMIUM = shutil.which("chromium")

# Each driver prints [{"path", "status", "type", "body"}] for the paths on its command line.
DRIVER_END = """
import json, sys
keys = ("path", "status", "type", "body")
print(json.dumps([dict(zip(keys, (path, *get(path)))) for path in sys.argv[1:]]))
"""
DJANGO = """
import os
os.environ.update(DJANGO_SETTINGS_MODULE="{package}.settings.dev", DATABASE_URL="sqlite:///:memory:")
os.environ["DJANGO_DEBUG"] = "false"  # the site's own 404 and 500 pages, not the debug ones
import django
django.setup()
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.test.utils import setup_test_environment
from django.views.defaults import server_error
setup_test_environment()
call_command("migrate", verbosity=0)
from {package}.pages.models import Page
Page.objects.create(title="About us", slug="about", published=True)
client = Client()
def get(path):
    response = server_error(RequestFactory().get("/")) if path == "/500" else client.get(path)
    return response.status_code, response["Content-Type"], response.content.decode()
"""
FLASK = """
from {package} import create_app
client = create_app({{"TESTING": True, "SECRET_KEY": "test-only"}}).test_client()
def get(path):
    response = client.get(path)
    return response.status_code, response.content_type, response.get_data(as_text=True)
"""
PYRAMID = """
import os
import webtest
from pyramid.paster import get_appsettings
from {package} import main
os.environ["SESSION_SECRET"] = "test-only"
app = webtest.TestApp(main({{}}, **get_appsettings("testing.ini")))
def get(path):
    response = app.get(path, status="*")
    return response.status_int, response.content_type, response.text
"""
FASTAPI = """
import os
os.environ["DATABASE_URL"] = "sqlite://"  # in memory: the pages here read no rows
from fastapi.testclient import TestClient
from {package}.main import app
client = TestClient(app)
def get(path):
    response = client.get(path)
    return response.status_code, response.headers["content-type"], response.text
"""

CHERRYPY = """
import atexit
import webtest
from {package}.app import create_app, start_engine, stop_engine
from {package}.config import Settings
# In memory: the pages here read no rows; the secret signs the session cookie.
settings = Settings(database_url="sqlite://", secret_key="test-only-" + "x" * 32)
app = webtest.TestApp(create_app(settings))
start_engine()  # as gunicorn's post_worker_init does
atexit.register(stop_engine)
def get(path):
    response = app.get(path, status="*")
    return response.status_int, response.content_type, response.text
"""

TURBOGEARS = """
import webtest
from {package}.settings import Settings
from {package}.wsgi import make_app
# In memory: the pages here read no rows; the secret signs the session cookie.
settings = Settings(database_url="sqlite://", secret_key="test-only-" + "x" * 32)
app = webtest.TestApp(make_app(settings))
def get(path):
    response = app.get(path, status="*")
    return response.status_int, response.content_type, response.text
"""

BOTTLE = """
import webtest
from {package}.app import create_app
from {package}.config import Settings
# In memory: the pages here read no rows; the secret signs the session cookie.
settings = Settings(database_url="sqlite://", secret_key="test-only-" + "x" * 32)
app = webtest.TestApp(create_app(settings))
def get(path):
    response = app.get(path, status="*")
    return response.status_int, response.content_type, response.text
"""


@dataclass(frozen=True)
class Site:
    framework: str
    data: tuple[str, ...]
    driver: str
    pages: dict[str, int]  # path -> the status its page answers with
    described: bool = True  # whether the pages carry the meta description


SITES = {
    "django": Site("django", (), DJANGO, {"/": 200, "/pages/about/": 200, "/x/": 404, "/500": 500}),
    "flask": Site("flask", (), FLASK, {"/": 200, "/about": 200, "/nowhere": 404}),
    **{
        f"pyramid-{language}": Site(
            "pyramid", (f"template_language={language}",), PYRAMID, {"/": 200, "/nowhere": 404}
        )
        for language in ("jinja2", "chameleon", "mako")
    },
    "fastapi": Site("fastapi", (), FASTAPI, {"/docs": 200}, described=False),
    "cherrypy": Site(
        "cherrypy",
        ("auth=accounts",),
        CHERRYPY,
        {p: 200 for p in ("/", "/accounts/signup", "/accounts/login", "/accounts/password/reset")}
        | {"/nowhere": 404},
    ),
    "turbogears": Site(
        "turbogears",
        ("auth=accounts",),
        TURBOGEARS,
        {p: 200 for p in ("/", "/accounts/signup", "/accounts/login", "/accounts/password/reset")}
        | {"/nowhere": 404},
    ),
    "bottle": Site(
        "bottle",
        ("auth=accounts",),
        BOTTLE,
        {p: 200 for p in ("/", "/accounts/signup", "/accounts/login", "/accounts/password/reset")}
        | {"/nowhere": 404},
    ),
}


class Head(HTMLParser):
    """The <link rel="icon"> hrefs and <meta name="description"> contents of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.icons: list[str] = []
        self.descriptions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link" and "icon" in values.get("rel", "").split():
            self.icons.append(values.get("href", ""))
        if tag == "meta" and values.get("name") == "description":
            self.descriptions.append(values.get("content", ""))


def fetch(project: Path, python: Path, site: Site) -> list[dict[str, object]]:
    package = project.name
    script = site.driver.format(package=package) + DRIVER_END
    result = subprocess.run(
        [str(python), "-c", script, *site.pages],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    pages: list[dict[str, object]] = json.loads(result.stdout.splitlines()[-1])
    return pages


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, Path]]:
    """site name -> (project, venv python): generated with DESCRIPTION, installed once."""
    projects: dict[str, tuple[Path, Path]] = {}

    def install(name: str) -> tuple[Path, Path]:
        if name not in projects:
            site = SITES[name]
            dest = tmp_path_factory.mktemp(name) / "bookshop"
            project = generate(dest, site.framework, f"description={DESCRIPTION}", *site.data)
            projects[name] = project, make_venv(project)
        return projects[name]

    return install


@pytest.mark.slow
@pytest.mark.parametrize("name", SITES)
def test_every_html_page_links_the_favicon_and_describes_the_project(
    installed: Callable[[str], tuple[Path, Path]], name: str
) -> None:
    site = SITES[name]
    project, python = installed(name)
    for page in fetch(project, python, site):
        where = f"{name} {page['path']}"
        assert page["status"] == site.pages[str(page["path"])], where
        assert str(page["type"]).startswith("text/html"), where
        head = Head()
        head.feed(str(page["body"]))
        assert head.icons == [FAVICON], where
        assert head.descriptions == ([DESCRIPTION] if site.described else []), where
    # nginx serves /static/ from the package's static/ (Django: from its collected copy).
    assert (project / "bookshop/static/favicon.svg").read_text().startswith("<svg ")


# gunicorn with the production config and a browser, alone in a network namespace: only
# loopback exists, so anything the page loads from elsewhere fails to load.
OFFLINE_BROWSER = """
set -e
ip link set lo up
"$PYTHON" -m gunicorn -c deploy/gunicorn.conf.py --workers 1 --bind 127.0.0.1:8000 &
trap 'kill -TERM $!; wait $! || true' EXIT
"$PYTHON" -c '
import time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen("http://127.0.0.1:8000/healthz", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
'
"$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$PROFILE" \
    --virtual-time-budget=20000 --dump-dom http://127.0.0.1:8000/docs
"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_fastapi_docs_render_in_a_browser_with_no_network(
    installed: Callable[[str], tuple[Path, Path]], tmp_path: Path
) -> None:
    """Swagger UI draws one block per operation only if its script and styles loaded, and
    nothing but this machine's loopback can serve them."""
    project, python = installed("fastapi")
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(tmp_path),
        "PYTHON": str(python),
        "CHROMIUM": str(CHROMIUM),
        "PROFILE": str(tmp_path / "profile"),
        "DATABASE_URL": "sqlite://",
    }
    result = run(["unshare", "--net", "sh", "-c", OFFLINE_BROWSER], cwd=project, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    dom = result.stdout
    assert 'id="swagger-ui"' in dom
    operations = re.findall(r'class="opblock opblock-(get|post|put|patch|delete)', dom)
    openapi = json.loads(fetch_openapi(project, python))
    expected = [method for item in openapi["paths"].values() for method in item]
    assert sorted(operations) == sorted(expected), result.stderr[-3000:]


def fetch_openapi(project: Path, python: Path) -> str:
    pages = fetch(project, python, Site("fastapi", (), FASTAPI, {"/openapi.json": 200}))
    return str(pages[0]["body"])
