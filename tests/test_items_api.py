"""Issue 17: one /api/items contract (docs/data-layer.md) and hostile input, for every framework.

Each case generates a project, migrates it with the catalog's command, serves it with its own
gunicorn config (the production settings) on a TCP port, and then: the contract by hand; a
table of hostile requests, none of which may get a 5xx or a non-JSON answer under /api/; an API
fuzzer (schemathesis, from tests/items_api.yaml) with the same rule; and finally the list must
still work for everyone. sqlite and PostgreSQL both, since each breaks differently (huge
integers on one, NUL characters on the other).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scaffold import catalog
from tests.helpers import (
    available_frameworks,
    dotenv_values,
    free_port,
    generate,
    make_venv,
    migrate_project,
    served_in_production,
    serving_env,
)
from tests.postgres import postgres_url, reset_postgres

SCHEMA = Path(__file__).with_name("items_api.yaml")
HUGE = "9" * 30  # past every integer column and 2^63
FRONT_HEADERS = {"Host": "example.com", "X-Forwarded-Proto": "https"}


def _cases() -> list[pytest.param]:
    cases = []
    for framework in map(catalog.get, available_frameworks()):
        for interface in framework.interface_choices or (None,):
            for database in ("sqlite", "postgresql"):
                data = [f"database={database}"]
                if interface:
                    data.append(f"{framework.interface_answer}={interface}")
                label = "-".join(filter(None, [framework.name, interface, database]))
                cases.append(pytest.param((framework.name, tuple(data)), id=label))
    return cases


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_url() as url:
        yield url


class Served:
    """A generated project served by gunicorn with its production config."""

    def __init__(self, project: Path, port: int, token: str) -> None:
        self.project, self.port, self.token = project, port, token

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = False,
    ) -> tuple[int, dict[str, str], bytes]:
        # What nginx in front sets: the site's name, and that the client spoke HTTPS.
        headers = {**FRONT_HEADERS, **(headers or {})}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()

    def json(
        self, method: str, path: str, body: object = None, auth: bool = False
    ) -> tuple[int, object]:
        status, _, raw = self.request(
            method, path, None if body is None else json.dumps(body), auth=auth
        )
        return status, json.loads(raw) if raw else None


@pytest.fixture(params=_cases())
def served(request, tmp_path: Path) -> Iterator[Served]:
    name, data = request.param
    framework = catalog.get(name)
    answers = {"package": "shopapi", **dict(pair.split("=") for pair in data)}
    project = generate(tmp_path / "shopapi", name, *data)
    python = make_venv(project)
    state = tmp_path / "state"
    state.mkdir()
    port = free_port()
    env = serving_env(framework, answers, python, f"127.0.0.1:{port}", state)
    if answers["database"] == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("postgres")
        reset_postgres(env["DATABASE_URL"])
    migrate_project(project, python, framework.migrate_for(answers), env)
    token = next(v for k, v in dotenv_values(project).items() if k.endswith("API_TOKEN"))
    app = Served(project, port, token)
    with served_in_production(
        project, framework, answers, python, env, tmp_path / "gunicorn.log", lambda: _healthy(app)
    ):
        yield app


def _healthy(app: Served) -> bool:
    with contextlib.suppress(OSError):
        return app.request("GET", "/healthz")[0] == 200
    return False


def test_items_api(served: Served, tmp_path: Path) -> None:
    """In order, on one server: the contract, the token, hostile input, the fuzzer; after each,
    nothing hostile was stored and the list still answers."""
    check_the_contract(served)
    (kept,) = served.json("GET", "/api/items")[1]
    check_writes_need_the_token(served)
    check_hostile_input_gets_a_4xx(served)
    assert served.json("GET", "/api/items") == (200, [kept])
    check_an_api_fuzzer_finds_no_server_error(served, tmp_path)


def check_the_contract(served: Served) -> None:
    assert served.json("GET", "/api/items") == (200, [])
    status, item = served.json(
        "POST", "/api/items", {"name": "Tea", "description": "green", "quantity": 3}, auth=True
    )
    assert status == 201, item
    assert isinstance(item, dict) and isinstance(item["id"], int)
    assert item == {"id": item["id"], "name": "Tea", "description": "green", "quantity": 3}
    status, headers, _ = served.request(
        "POST", "/api/items", json.dumps({"name": "Cup", "quantity": 0}), auth=True
    )
    assert status == 201 and headers["location"].endswith("/api/items/" + str(item["id"] + 1))
    assert served.json("GET", f"/api/items/{item['id']}") == (200, item)
    status, listed = served.json("GET", "/api/items?offset=0&limit=20")
    assert status == 200 and [i["name"] for i in listed] == ["Tea", "Cup"]
    assert served.json("GET", "/api/items?offset=1&limit=1")[1][0]["name"] == "Cup"
    assert served.json("GET", "/api/items/999999")[0] == 404
    assert served.json("DELETE", f"/api/items/{item['id']}")[0] == 401
    status, _, body = served.request("DELETE", f"/api/items/{item['id']}", auth=True)
    assert (status, body) == (204, b"")
    assert served.json("DELETE", f"/api/items/{item['id']}", auth=True)[0] == 404
    assert served.json("GET", f"/api/items/{item['id']}")[0] == 404


def check_writes_need_the_token(served: Served) -> None:
    body = json.dumps({"name": "Tea", "quantity": 1})
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {served.token}"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer caf\u00e9"},  # latin-1 on the wire: not ASCII
        {"Authorization": f"Bearer {served.token}x"},
    ):
        status, answer, _ = served.request("POST", "/api/items", body, headers)
        assert status == 401, (headers, status)
        assert "bearer" in answer.get("www-authenticate", "").lower(), answer


HOSTILE_BODIES = [
    '{"name": "\\ud800", "quantity": 1}',  # a lone surrogate, as JSON escapes it
    '{"name": "a\\u0000b", "quantity": 1}',  # NUL: PostgreSQL cannot store it
    '{"name": "", "quantity": 1}',
    '{"name": "' + "x" * 201 + '", "quantity": 1}',
    '{"name": "Tea", "description": "' + "d" * 2001 + '", "quantity": 1}',
    '{"name": "Tea"}',
    '{"quantity": 1}',
    '{"name": "Tea", "quantity": "1"}',
    '{"name": "Tea", "quantity": true}',
    '{"name": "Tea", "quantity": 1.5}',
    '{"name": "Tea", "quantity": -1}',
    '{"name": "Tea", "quantity": 2147483648}',
    '{"name": "Tea", "quantity": ' + HUGE + "}",
    '{"name": 7, "quantity": 1}',
    '{"name": ["Tea"], "quantity": 1}',
    '{"name": "Tea", "description": null, "quantity": 1, "id": ' + HUGE + "}",
    "[" * 1000 + "]" * 1000,  # 2 kB, 1,000 deep
    '{"a":' * 1000 + "1" + "}" * 1000,
    "[]",
    '"Tea"',
    "null",
    "{",
    "not json",
    "\xff\xfe",
    "",
]

HOSTILE_PATHS = [
    "/%ff",
    "/api/%ff",
    "/api/items/%ff",
    "/api/items?offset=%ff",
    "/api/items?name=%ff",
    f"/api/items/{HUGE}",
    "/api/items/9223372036854775808",
    "/api/items/-1",
    "/api/items/1.5",
    "/api/items/abc",
    f"/api/items?offset={HUGE}",
    "/api/items?offset=9223372036854775808",
    "/api/items?offset=-1",
    "/api/items?limit=0",
    "/api/items?limit=101",
    "/api/items?limit=abc",
    f"/api/items?limit={HUGE}",
    "/api/items?offset=1&offset=2",
    "/api/items/%00",
    "/api/items?offset=%00",
]


def _no_server_error(served: Served, method: str, path: str, status: int, headers, body) -> None:
    assert status < 500, (method, path, status, body[:300])
    if path.startswith("/api/") and body:
        assert "json" in headers.get("content-type", ""), (method, path, status, body[:300])


def check_hostile_input_gets_a_4xx(served: Served) -> None:
    for raw in HOSTILE_BODIES:
        status, headers, body = served.request("POST", "/api/items", raw, auth=True)
        _no_server_error(served, "POST", raw[:40], status, headers, body)
        assert 400 <= status < 500, (raw[:60], status, body[:300])
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        status, headers, body = served.request(
            "POST", "/api/items", "name=Tea&quantity=1", {"Content-Type": content_type}, auth=True
        )
        assert 400 <= status < 500, (content_type, status)
    big = json.dumps({"name": "Tea", "description": "d" * (1536 * 1024), "quantity": 1})
    status, headers, body = served.request("POST", "/api/items", big, auth=True)
    assert 400 <= status < 500, status
    for path in HOSTILE_PATHS:
        for method in ("GET", "DELETE"):
            status, headers, body = served.request(method, path, auth=method == "DELETE")
            _no_server_error(served, method, path, status, headers, body)
            assert 400 <= status < 500 or path.startswith("/api/items?"), (method, path, status)
    status, headers, body = served.request("PATCH", "/api/items", "{}", auth=True)
    assert status == 405, status


def check_an_api_fuzzer_finds_no_server_error(served: Served, tmp_path: Path) -> None:
    """schemathesis generates requests from the contract's OpenAPI document (tests/items_api.yaml),
    valid and invalid, and fails on any 5xx or an answer that is not the declared JSON."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    result = subprocess.run(
        [
            st,
            "run",
            str(SCHEMA),
            "--url",
            f"http://127.0.0.1:{served.port}",
            "--header",
            f"Authorization: Bearer {served.token}",
            *[
                arg
                for name, value in FRONT_HEADERS.items()
                for arg in ("--header", f"{name}: {value}")
            ],
            "--checks",
            "not_a_server_error,content_type_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "40",
            "--seed",
            "17",
            "--workers",
            "2",
            "--no-color",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    started = time.monotonic()
    status, listed = served.json("GET", "/api/items?limit=100")
    assert status == 200 and isinstance(listed, list), (status, listed)
    assert time.monotonic() - started < 30
