from falcon import testing


def test_home_links_to_the_api(client: testing.TestClient) -> None:
    response = client.simulate_get("/")
    assert response.status_code == 200
    assert response.json["links"] == {"health": "/healthz", "items": "/items"}


def test_healthz_is_json(client: testing.TestClient) -> None:
    response = client.simulate_get("/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json == {"status": "ok"}


def test_static_files_are_served_without_nginx(client: testing.TestClient) -> None:
    response = client.simulate_get("/static/robots.txt")
    assert response.status_code == 200
    assert "User-agent" in response.text


def test_wrong_method_is_a_json_405(client: testing.TestClient) -> None:
    response = client.simulate_post("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.json["error"]["status"] == 405
