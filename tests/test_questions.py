"""Answer validation: each rule and each message, table-driven."""

import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

from scaffold.errors import BadInput
from scaffold.questions import (
    COMMON_QUESTIONS,
    SHARED_USERS,
    check_unix_user,
    package_from_name,
    parse_data_pairs,
    resolve_answers,
)
from tests.helpers import TEMPLATES


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("My Shop", "my_shop"),
        ("my-shop 2", "my_shop_2"),
        ("  Ünïcode Café ", "n_code_caf"),
        ("42 things", "app_42_things"),
    ],
)
def test_package_is_derived_from_the_name(name: str, package: str) -> None:
    assert package_from_name(name) == package


def test_defaults_resolve_in_order() -> None:
    answers = resolve_answers(COMMON_QUESTIONS, {"project_name": "Pet Shop"})
    assert answers["package"] == "pet_shop"
    assert answers["description"] == "Pet Shop, a web application."
    assert answers["docker"] is False


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("package", "json", "standard-library"),
        ("package", "test", "shadows"),
        ("package", "flask", "framework"),
        ("package", "django", "framework"),
        ("package", "class", "keyword"),
        ("package", "match", "keyword"),
        ("package", "My_App", "lowercase"),
        ("package", "my-app", "lowercase"),
        ("package", "1app", "lowercase"),
        ("project_name", "", "empty"),
        ("project_name", "a/b", "path separator"),
        ("project_name", "..", "path separator"),
        ("project_name", "bad\x07name", "control"),
        ("project_name", "x" * 81, "longer"),
        ("author_email", "not-an-email", "email"),
        ("domain", "exa mple.com", "domain"),
        ("domain", "https://example.com", "domain"),
        ("python_version", "3.10", "one of"),
        ("deploy_user", "root", "root"),
        ("deploy_user", "www-data", "is nginx's own user; the service needs its own"),
        ("deploy_user", "nginx", "is nginx's own user"),
        ("deploy_user", "nobody", "is nginx's own user"),
        ("deploy_user", "Shop", "not a valid unix user name"),
        ("docker", "maybe", "yes/no"),
    ],
)
def test_bad_values_are_refused_with_the_reason(key: str, value: str, problem: str) -> None:
    with pytest.raises(BadInput) as caught:
        resolve_answers(COMMON_QUESTIONS, {key: value})
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_service_user_is_the_projects_own_by_default() -> None:
    # Not nginx's www-data: its workers could read the app's .env and reach the trusted socket.
    assert resolve_answers(COMMON_QUESTIONS, {"project_name": "Pet Shop"})["deploy_user"] == (
        "pet_shop"
    )
    assert resolve_answers(COMMON_QUESTIONS, {"package": "shop_admin"})["deploy_user"] == (
        "shop_admin"
    )
    given = {"package": "shop_admin", "deploy_user": "shopd"}
    assert resolve_answers(COMMON_QUESTIONS, given)["deploy_user"] == "shopd"


def copier_deploy_users() -> list[tuple[str, dict]]:
    layers = sorted(path.parent.name for path in TEMPLATES.glob("*/copier.yml"))
    specs = [
        (layer, yaml.safe_load((TEMPLATES / layer / "copier.yml").read_text())) for layer in layers
    ]
    return [(layer, config["deploy_user"]) for layer, config in specs if "deploy_user" in config]


def test_copier_yml_computes_and_validates_the_service_user_as_the_schema_does() -> None:
    """`copier copy` of a layer alone gets the same default and the same refusals."""
    found = copier_deploy_users()
    assert {layer for layer, _ in found} >= {"base", "deploy"}
    env = SandboxedEnvironment()
    for layer, spec in found:
        for package in ("my_project", "shop_admin"):
            default = env.from_string(spec["default"]).render(package=package)
            expected = resolve_answers(COMMON_QUESTIONS, {"package": package})["deploy_user"]
            assert default == expected, layer
        samples = ("root", *sorted(SHARED_USERS), "shop_admin", "_svc-1", "Shop", "1st", "a.b")
        for user in (*samples, "", "x" * 32, "x" * 33):
            said = env.from_string(spec["validator"]).render(deploy_user=user).strip()
            assert said == (check_unix_user(user) or ""), (layer, user)


def test_unknown_answer_is_refused() -> None:
    with pytest.raises(BadInput, match="unknown answer 'nosuchkey'"):
        resolve_answers(COMMON_QUESTIONS, {"nosuchkey": "1"})


@pytest.mark.parametrize("pair", ["foo", "=value", ""])
def test_malformed_data_pairs_are_refused(pair: str) -> None:
    with pytest.raises(BadInput, match="KEY=VALUE"):
        parse_data_pairs([pair])


def test_data_pairs_keep_equals_in_values() -> None:
    assert parse_data_pairs(["description=a=b"]) == {"description": "a=b"}


@pytest.mark.parametrize(
    ("raw", "value"), [("yes", True), ("FALSE", False), ("1", True), ("off", False)]
)
def test_bool_words(raw: str, value: bool) -> None:
    assert resolve_answers(COMMON_QUESTIONS, {"docker": raw})["docker"] is value
