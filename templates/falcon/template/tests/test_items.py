from typing import Any

import pytest
from falcon import testing

Headers = dict[str, str]


def create(client: testing.TestClient, auth: Headers, **fields: Any) -> testing.Result:
    return client.simulate_post("/items", json=fields, headers=auth)


def test_the_list_starts_empty(client: testing.TestClient) -> None:
    assert client.simulate_get("/items").json == {"items": []}


def test_create_then_get_and_list(client: testing.TestClient, auth: Headers) -> None:
    response = create(client, auth, name="  Tea  ", quantity=2)
    assert response.status_code == 201
    assert response.headers["Location"] == "/items/1"
    assert response.json == {"id": 1, "name": "Tea", "quantity": 2}
    assert client.simulate_get("/items/1").json == response.json
    assert client.simulate_get("/items").json == {"items": [response.json]}


def test_quantity_defaults_to_one(client: testing.TestClient, auth: Headers) -> None:
    assert create(client, auth, name="Tea").json["quantity"] == 1


def test_limit_caps_the_list(client: testing.TestClient, auth: Headers) -> None:
    for name in ("Tea", "Milk", "Sugar"):
        create(client, auth, name=name)
    items = client.simulate_get("/items", params={"limit": "2"}).json["items"]
    assert [item["name"] for item in items] == ["Tea", "Milk"]


@pytest.mark.parametrize("limit", ["0", "101", "many"])
def test_a_bad_limit_is_a_400(client: testing.TestClient, limit: str) -> None:
    response = client.simulate_get("/items", params={"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json["error"]["description"]


def test_delete_removes_the_item(client: testing.TestClient, auth: Headers) -> None:
    create(client, auth, name="Tea")
    assert client.simulate_delete("/items/1", headers=auth).status_code == 204
    assert client.simulate_get("/items/1").status_code == 404
    assert client.simulate_delete("/items/1", headers=auth).status_code == 404


def test_a_missing_item_is_a_json_404(client: testing.TestClient) -> None:
    response = client.simulate_get("/items/42")
    assert response.status_code == 404
    assert response.json == {
        "error": {"status": 404, "title": "404 Not Found", "description": "There is no item 42."}
    }


@pytest.mark.parametrize("path", ["/items/tea", "/items/0", "/items/-1"])
def test_the_id_converter_only_routes_positive_integers(
    client: testing.TestClient, path: str
) -> None:
    response = client.simulate_get(path)
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdC10b2tlbg=="}],
    ids=["none", "wrong-token", "wrong-scheme"],
)
def test_writes_need_the_token(client: testing.TestClient, headers: Headers) -> None:
    response = client.simulate_post("/items", json={"name": "Tea"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.simulate_delete("/items/1", headers=headers).status_code == 401
    assert client.simulate_get("/items").json == {"items": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 7}, "name"),
        ({"name": "Tea", "quantity": -1}, "quantity"),
        ({"name": "Tea", "quantity": True}, "quantity"),
        ({"name": "Tea", "colour": "green"}, "colour"),
        (["Tea"], "body"),
    ],
)
def test_invalid_items_are_a_422_naming_the_field(
    client: testing.TestClient, auth: Headers, body: Any, field: str
) -> None:
    response = client.simulate_post("/items", json=body, headers=auth)
    assert response.status_code == 422
    assert field in response.json["error"]["problems"]


def test_malformed_json_is_a_400(client: testing.TestClient, auth: Headers) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    response = client.simulate_post("/items", body="{not json", headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["status"] == 400


def test_a_non_json_body_is_refused(client: testing.TestClient, auth: Headers) -> None:
    headers = {**auth, "Content-Type": "text/plain"}
    response = client.simulate_post("/items", body="name=Tea", headers=headers)
    assert response.status_code == 415
