"""Errors: JSON under /api/ and for JSON clients, HTML pages for people, never a traceback."""

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient


@pytest.fixture
def echo_client(make_app: Callable[..., Flask]) -> FlaskClient:
    """A client of an app with one more endpoint, /api/echo, which parses its JSON body."""
    app = make_app()

    @app.post("/api/echo")
    def echo() -> dict[str, Any]:
        return {"received": request.get_json()}

    @app.get("/api/boom")
    def boom() -> None:
        raise ValueError("secret detail")

    return app.test_client()


def test_api_404_is_json(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["name"] == "Not Found"


def test_a_json_client_gets_json_errors_anywhere(client: FlaskClient) -> None:
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


def test_a_wrong_method_is_a_405_that_says_which_are_allowed(client: FlaskClient) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405
    assert "GET" in response.headers["Allow"]


def test_a_page_405_is_html_and_says_which_methods_are_allowed(client: FlaskClient) -> None:
    response = client.post("/about")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "GET" in response.headers["Allow"]


def test_unexpected_errors_become_a_500_without_details(echo_client: FlaskClient) -> None:
    response = echo_client.get("/api/boom")
    assert response.status_code == 500
    assert b"secret detail" not in response.data
    assert response.get_json()["error"]["status"] == 500


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_a_400(echo_client: FlaskClient, depth: int) -> None:
    response = echo_client.post(
        "/api/echo", data="[" * depth + "]" * depth, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400


def test_json_that_parses_is_passed_on(echo_client: FlaskClient) -> None:
    response = echo_client.post("/api/echo", json=[[[1]]])
    assert response.get_json() == {"received": [[[1]]]}


def test_a_body_over_one_mebibyte_is_a_413(echo_client: FlaskClient) -> None:
    body = '"' + "x" * (1024 * 1024) + '"'
    response = echo_client.post("/api/echo", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["status"] == 413
