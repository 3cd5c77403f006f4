import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client


def test_the_user_model_is_the_custom_one() -> None:
    assert settings.AUTH_USER_MODEL == "users.User"
    assert get_user_model()._meta.label == "users.User"


@pytest.mark.django_db
def test_create_user() -> None:
    user = get_user_model().objects.create_user("ada", "ada@example.com", "analytical-engine")
    assert user.check_password("analytical-engine")
    assert not user.is_staff
    assert str(user) == "ada"


@pytest.mark.django_db
def test_admin_login_page_renders(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert "csrftoken" in response.cookies


@pytest.mark.django_db
def test_staff_can_log_in_to_the_admin(client: Client) -> None:
    get_user_model().objects.create_superuser("grace", "grace@example.com", "cobol-1959!")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "grace", "password": "cobol-1959!"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_users_admin(admin_client: Client) -> None:
    response = admin_client.get("/admin/users/user/")
    assert response.status_code == 200
    assert b"admin" in response.content
