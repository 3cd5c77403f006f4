"""The recommender is a pure function: a table of needs and the framework they should pick."""

import pytest

from scaffold import catalog
from scaffold.recommend import NEEDS_QUESTIONS, RULES, recommend

BASE = {"kind": "app", "realtime": False, "speed": False, "batteries": False, "growth": False}


@pytest.mark.parametrize(
    ("needs", "pick"),
    [
        ({"kind": "site", "batteries": True}, "django"),
        ({"kind": "site"}, "django"),
        ({"kind": "app"}, "flask"),
        ({"kind": "api"}, "fastapi"),
        ({"kind": "api", "realtime": True}, "fastapi"),
        ({"kind": "api", "speed": True}, "falcon"),
        ({"kind": "api", "speed": True, "realtime": True}, "falcon"),
        ({"kind": "app", "growth": True}, "pyramid"),
        ({"kind": "site", "growth": True}, "django"),
        ({"kind": "app", "batteries": True}, "django"),
        ({"kind": "app", "realtime": True}, "fastapi"),
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
    kinds = ("site", "app", "api")
    winners = {
        recommend({"kind": k, "realtime": r, "speed": s, "batteries": b, "growth": g}).pick
        for k in kinds
        for r in (False, True)
        for s in (False, True)
        for b in (False, True)
        for g in (False, True)
    }
    assert winners == set(catalog.names())
