"""The recommender is a pure function: a table of needs and the framework they should pick."""

import itertools

import pytest

from scaffold import catalog
from scaffold.recommend import NEEDS_QUESTIONS, RULES, recommend

BASE = {q.name: q.default for q in NEEDS_QUESTIONS}


@pytest.mark.parametrize(
    ("needs", "pick"),
    [
        ({"kind": "site", "batteries": True}, "django"),
        ({"kind": "site"}, "django"),
        ({"kind": "app"}, "flask"),
        ({"kind": "api"}, "fastapi"),
        ({"kind": "api", "realtime": True}, "fastapi"),
        ({"kind": "api", "speed": True}, "falcon"),
        ({"kind": "app", "growth": True}, "pyramid"),
        ({"kind": "site", "growth": True}, "django"),
        ({"kind": "app", "batteries": True}, "django"),
        # Changed in issue 20: an app built around long-lived connections is Tornado's case in
        # every guide, and async speed with websockets is Sanic's; FastAPI and Falcon stay the
        # picks for typed APIs and sync speed.
        ({"kind": "app", "realtime": True}, "tornado"),
        ({"kind": "api", "speed": True, "realtime": True}, "sanic"),
        ({"kind": "app", "speed": True, "realtime": True}, "sanic"),
        ({"kind": "api", "client": True}, "aiohttp"),
        ({"kind": "app", "client": True}, "aiohttp"),
        ({"kind": "app", "standalone": True}, "bottle"),
        ({"kind": "app", "objects": True}, "cherrypy"),
        ({"kind": "app", "objects": True, "batteries": True}, "turbogears"),
        ({"kind": "site", "objects": True, "batteries": True}, "turbogears"),
        ({"kind": "api", "toolkit": True}, "starlette"),
        ({"kind": "app", "toolkit": True}, "starlette"),
    ],
)
def test_pick(needs: dict, pick: str) -> None:
    assert recommend({**BASE, **needs}).pick == pick


def test_runner_up_differs_and_is_second_best() -> None:
    result = recommend({**BASE, "kind": "api"})
    assert result.runner_up != result.pick
    assert result.scores[result.runner_up] == sorted(result.scores.values())[-2]


def test_why_names_pick_reason_and_runner_up() -> None:
    result = recommend({**BASE, "kind": "site", "batteries": True})
    assert result.why.startswith("Django, because")
    assert "admin" in result.why
    assert "Runner-up:" in result.why


def test_rules_only_name_catalog_frameworks_and_questions() -> None:
    questions = {q.name for q in NEEDS_QUESTIONS}
    for rule in RULES:
        assert rule.framework in catalog.names()
        assert rule.question in questions


def test_every_framework_can_win() -> None:
    choices = [q.choices if q.type == "choice" else (False, True) for q in NEEDS_QUESTIONS]
    names = [q.name for q in NEEDS_QUESTIONS]
    winners = {
        recommend(dict(zip(names, values, strict=True))).pick
        for values in itertools.product(*choices)
    }
    assert winners == set(catalog.names())
