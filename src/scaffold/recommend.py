"""The framework recommender: a few answers in, a pick and a runner-up out; pure, table-driven."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scaffold import catalog
from scaffold.questions import Question

NEEDS_QUESTIONS: tuple[Question, ...] = (
    Question(
        "kind",
        "What are you building? site = content or database-backed site with an admin; "
        "app = a small web app; api = a JSON API or microservice",
        "app",
        type="choice",
        choices=("site", "app", "api"),
    ),
    Question(
        "realtime",
        "Do you need async: websockets or many long-lived connections?",
        False,
        type="bool",
    ),
    Question("speed", "Is raw request speed the top priority?", False, type="bool"),
    Question(
        "batteries",
        "Do you want batteries included (ORM, admin, auth) rather than picking "
        "your own components?",
        False,
        type="bool",
    ),
    Question(
        "growth",
        "Will it grow into a large app assembled from pluggable parts?",
        False,
        type="bool",
    ),
    Question(
        "client",
        "Will the app itself call other HTTP services a lot (an async HTTP client and server "
        "in one)?",
        False,
        type="bool",
    ),
    Question(
        "standalone",
        "Should it stay a single-file app with no dependencies beyond the framework?",
        False,
        type="bool",
    ),
    Question(
        "objects",
        "Do you want to model the app as a tree of Python objects (object-oriented dispatch)?",
        False,
        type="bool",
    ),
    Question(
        "toolkit",
        "Do you want a bare ASGI toolkit to build your own stack on, rather than a framework?",
        False,
        type="bool",
    ),
)


@dataclass(frozen=True)
class Rule:
    """When `question` has `answer`, `framework` earns `points`, for `reason`."""

    question: str
    answer: Any
    framework: str
    points: int
    reason: str


RULES: tuple[Rule, ...] = (
    Rule("kind", "site", "django", 4, "its ORM, admin and auth make database-backed sites quick"),
    Rule("kind", "site", "pyramid", 2, "it serves server-rendered sites with a choice of engines"),
    Rule("kind", "site", "flask", 1, "Jinja pages and blueprints cover small sites"),
    Rule("kind", "app", "flask", 4, "its small core and blueprints suit a small web app"),
    Rule("kind", "app", "pyramid", 2, "it starts as small as a single file"),
    Rule("kind", "app", "django", 1, "it has everything a web app may need later"),
    Rule(
        "kind", "api", "fastapi", 4, "it validates JSON from type hints and documents it as OpenAPI"
    ),
    Rule("kind", "api", "falcon", 3, "it maps REST resources to responders with little overhead"),
    Rule("kind", "api", "flask", 1, "JSON views are one decorator away"),
    Rule("realtime", True, "fastapi", 5, "it is async from the ground up (ASGI, websockets)"),
    Rule("realtime", True, "falcon", 3, "it runs as ASGI with async responders and websockets"),
    Rule("realtime", True, "django", 1, "it has async views on ASGI"),
    Rule("realtime", True, "flask", -2, "it is synchronous first"),
    Rule("realtime", True, "pyramid", -2, "it is WSGI only"),
    Rule("speed", True, "falcon", 5, "it is built for raw request throughput"),
    Rule("speed", True, "fastapi", 1, "it runs on a fast ASGI stack"),
    Rule("speed", False, "django", 1, "its overhead does not matter for this app"),
    Rule("batteries", True, "django", 4, "it ships ORM, admin, auth, forms and migrations"),
    Rule("batteries", True, "pyramid", 1, "its add-ons cover sessions, auth and templates"),
    Rule("batteries", False, "flask", 2, "you choose each extension yourself"),
    Rule("batteries", False, "falcon", 1, "it stays out of your way"),
    Rule("batteries", False, "fastapi", 1, "you add only the parts you need"),
    Rule("growth", True, "pyramid", 5, "it is made to start small and finish big through includes"),
    Rule("growth", True, "django", 2, "its apps split a large project into parts"),
    Rule("growth", False, "flask", 1, "a small project stays small and simple"),
    # The framework guides' reasons for the frameworks of issue 20.
    Rule(
        "realtime",
        True,
        "tornado",
        6,
        "its own event loop and server hold many long-lived connections and websockets",
    ),
    Rule("kind", "app", "tornado", 1, "its handlers and templates cover a small app"),
    Rule("kind", "api", "tornado", 1, "its handlers answer JSON"),
    Rule("speed", True, "sanic", 5, "it is built for raw async speed on its own server"),
    Rule("realtime", True, "sanic", 5, "it is async throughout, websockets included"),
    Rule("kind", "api", "sanic", 2, "its blueprints group an API's routes"),
    Rule("batteries", False, "sanic", 1, "you add only the parts you need"),
    Rule("client", True, "aiohttp", 9, "it is an async HTTP client and server in one"),
    Rule("kind", "api", "aiohttp", 1, "its handlers answer JSON on asyncio"),
    Rule("standalone", True, "bottle", 9, "it is a single file with no dependencies"),
    Rule("kind", "app", "bottle", 1, "its routes and templates fit a small app"),
    Rule("objects", True, "cherrypy", 8, "it maps a tree of Python objects onto URLs"),
    Rule("batteries", True, "cherrypy", -2, "it is minimalist: you add the parts"),
    Rule("objects", True, "turbogears", 5, "it dispatches to a tree of controller objects"),
    Rule("batteries", True, "turbogears", 4, "it ships SQLAlchemy, templates and auth, full-stack"),
    Rule("kind", "site", "turbogears", 2, "it renders database-backed pages"),
    Rule(
        "toolkit",
        True,
        "starlette",
        9,
        "it is the ASGI toolkit under FastAPI: routes, middleware and lifespan, nothing more",
    ),
    Rule("kind", "api", "starlette", 2, "its routes answer JSON on ASGI"),
    Rule("realtime", True, "starlette", 1, "it serves websockets on ASGI"),
)


@dataclass(frozen=True)
class Recommendation:
    pick: str
    runner_up: str
    scores: dict[str, int]
    reasons: tuple[str, ...]  # why the pick won, strongest first

    @property
    def why(self) -> str:
        title = catalog.get(self.pick).title
        runner = catalog.get(self.runner_up).title
        because = "; ".join(self.reasons) if self.reasons else "it is a sound general choice"
        return (
            f"{title}, because {because}. Runner-up: {runner} "
            f"({self.scores[self.runner_up]} points against {self.scores[self.pick]})."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "pick": self.pick,
            "runner_up": self.runner_up,
            "scores": self.scores,
            "reasons": list(self.reasons),
            "why": self.why,
        }


def recommend(needs: Mapping[str, Any]) -> Recommendation:
    """Score every catalog framework against the needs; ties go to catalog order."""
    scores = {name: 0 for name in catalog.names()}
    reasons: dict[str, list[tuple[int, str]]] = {name: [] for name in scores}
    for rule in RULES:
        if needs.get(rule.question) == rule.answer and rule.framework in scores:
            scores[rule.framework] += rule.points
            reasons[rule.framework].append((rule.points, rule.reason))
    ranked = sorted(scores, key=lambda name: -scores[name])
    pick, runner_up = ranked[0], ranked[1]
    strongest = sorted(reasons[pick], key=lambda item: -item[0])
    return Recommendation(
        pick, runner_up, scores, tuple(reason for points, reason in strongest if points > 0)
    )
