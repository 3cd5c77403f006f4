import re
import tomllib
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
DESCRIPTION = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["description"]


def head_of(html: str) -> tuple[str | None, str | None]:
    """The page's favicon link and meta description (unescaped), as the layout writes them."""
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    description = re.search(r'<meta name="description" content="([^"]*)">', html)
    return (icon and icon.group(1)), (description and unescape(description.group(1)))


def test_index_renders_the_base_layout(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"<nav>" in response.data
    assert b"/static/css/style.css" in response.data


def test_about_page(client: FlaskClient) -> None:
    response = client.get("/about")
    assert response.status_code == 200
    assert b"<h1>About</h1>" in response.data


def test_static_file_is_served(client: FlaskClient) -> None:
    response = client.get("/static/css/style.css")
    assert response.status_code == 200
    response.close()


def test_unknown_page_gets_an_html_404(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"404 Not Found" in response.data


@pytest.mark.parametrize(("path", "status"), [("/", 200), ("/about", 200), ("/nowhere", 404)])
def test_every_page_has_the_favicon_and_the_description(
    client: FlaskClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert head_of(response.get_data(as_text=True)) == ("/static/favicon.svg", DESCRIPTION)


def test_the_favicon_is_served(client: FlaskClient) -> None:
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    response.close()
