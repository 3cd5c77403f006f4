from flask import Flask
from flask.testing import FlaskClient


def test_healthz_is_json(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_greeting_defaults_to_world(client: FlaskClient) -> None:
    assert client.get("/api/greeting").get_json() == {"message": "Hello, world!"}


def test_greeting_uses_the_name(client: FlaskClient) -> None:
    assert client.get("/api/greeting?name=Ada").get_json() == {"message": "Hello, Ada!"}


def test_create_greeting(client: FlaskClient) -> None:
    response = client.post("/api/greeting", json={"name": "Grace"})
    assert response.status_code == 201
    assert response.get_json() == {"message": "Hello, Grace!"}


def test_create_greeting_rejects_non_json(client: FlaskClient) -> None:
    response = client.post("/api/greeting", data="name=Grace")
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400


def test_create_greeting_rejects_an_empty_name(client: FlaskClient) -> None:
    response = client.post("/api/greeting", json={"name": "  "})
    assert response.status_code == 422
    assert "1 to 100" in response.get_json()["error"]["message"]


def test_api_404_is_json(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["name"] == "Not Found"


def test_unexpected_errors_become_a_500_without_details(app: Flask) -> None:
    @app.get("/api/boom")
    def boom() -> None:
        raise ValueError("secret detail")

    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert b"secret detail" not in response.data
    assert response.get_json()["error"]["status"] == 500
