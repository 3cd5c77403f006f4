from flask.testing import FlaskClient


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
