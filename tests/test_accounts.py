"""Issue 18: accounts (docs/accounts.md) in every framework, served as in production.

Each case generates a project with `auth=accounts`, migrates it with the catalog's command and
serves it with its own gunicorn config (the production settings) on a unix socket, as systemd
does. Then the API contract, by hand: accounts, tokens (forged, malformed and wrong-algorithm
ones are 401), the items writes behind a token, hostile sign-in bodies, and the sign-in limits.
For the frameworks that serve pages, a real browser (Debian's Chromium, driven by Playwright),
alone in a network namespace with the project's own nginx site on 443 in front, signs up, signs
out, fails and then succeeds at signing in, resets its password from the mail the app wrote to
its log (SMTP_HOST is empty), and finds itself on the home page each time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from scaffold import catalog
from scaffold.nginx_site import LocalSite, make_self_signed, write_prefix
from tests.helpers import (
    available_frameworks,
    dotenv_values,
    generate,
    make_venv,
    migrate_project,
    served_in_production,
    serving_env,
)
from tests.postgres import postgres_url, reset_postgres

PASSWORD = "correct horse battery staple"
FRONT_HEADERS = {"Host": "example.com", "X-Forwarded-Proto": "https"}
CHROMIUM = shutil.which("chromium")
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")


def _cases() -> list[pytest.param]:
    cases = []
    for framework in map(catalog.get, available_frameworks()):
        for choice in framework.interface_choices or (None,):
            data = ["auth=accounts", "database=sqlite"]
            if choice:
                data.append(f"{framework.interface_answer}={choice}")
            label = "-".join(filter(None, [framework.name, choice, "sqlite"]))
            cases.append(pytest.param((framework.name, tuple(data)), id=label))
    # PostgreSQL counts the sign-in failures too: one page framework, one API framework.
    for name in ("pyramid", "fastapi"):
        data = ("auth=accounts", "database=postgresql")
        cases.append(pytest.param((name, data), id=f"{name}-postgresql"))
    return cases


class UnixConnection(http.client.HTTPConnection):
    """HTTP to gunicorn's unix socket, where nginx would connect."""

    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=60)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.socket_path))


@dataclass
class Site:
    framework: catalog.Framework
    project: Path
    socket: Path
    log: Path
    secret: str  # the signing secret from .env

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {**FRONT_HEADERS, **(headers or {})}
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        connection = UnixConnection(self.socket)
        try:
            # A server may answer (413, say) and close before reading all of a large body.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = {k.lower(): v for k, v in response.getheaders()}
            return response.status, answer, response.read()
        finally:
            connection.close()

    def json(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, object]:
        headers = {"Content-Type": "application/json", **(headers or {})}
        raw = None if body is None else json.dumps(body)
        status, answer, content = self.request(method, path, raw, headers)
        if content:
            assert "json" in answer.get("content-type", ""), (method, path, status, content[:300])
        return status, json.loads(content) if content else None

    def sign_in(self, email: str, password: str, address: str = "192.0.2.1") -> tuple[int, object]:
        form = urllib.parse.urlencode({"username": email, "password": password})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": address,
        }
        status, answer, content = self.request("POST", "/api/token", form, headers)
        assert "json" in answer.get("content-type", ""), (status, content[:300])
        return status, json.loads(content)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_url() as url:
        yield url


@pytest.fixture(params=_cases())
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    name, data = request.param
    framework = catalog.get(name)
    answers = {"package": "shopacc", **dict(pair.split("=") for pair in data)}
    project = generate(tmp_path / "shopacc", name, *data)
    python = make_venv(project)
    state = tmp_path / "state"
    state.mkdir()
    # A short path: a unix socket's name is limited to 107 bytes.
    run_dir = Path(tempfile.mkdtemp(prefix="scaffold-acc-"))
    sock = run_dir / "gunicorn.sock"
    env = serving_env(framework, answers, python, f"unix:{sock}", state)
    if answers["database"] == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("postgres")
        reset_postgres(env["DATABASE_URL"])
    migrate_project(project, python, framework.prepare_for(answers), env)
    secret = next(
        value
        for key, value in dotenv_values(project).items()
        if key in ("DJANGO_SECRET_KEY", "FLASK_SECRET_KEY", "SESSION_SECRET", "APP_SECRET_KEY")
    )
    served = Site(framework, project, sock, tmp_path / "gunicorn.log", secret)
    try:
        with served_in_production(
            project, framework, answers, python, env, served.log, lambda: _healthy(served)
        ):
            yield served
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _healthy(served: Site) -> bool:
    with contextlib.suppress(OSError):
        return served.request("GET", "/healthz")[0] == 200
    return False


def test_accounts(site: Site, tmp_path: Path) -> None:
    """In order, on one server: accounts and tokens, the items behind them, hostile input, the
    limits; then the pages in a real browser where the framework serves pages."""
    token = check_accounts_and_tokens(site)
    check_items_writes_need_an_account(site, token)
    check_hostile_sign_ins_get_a_4xx(site)
    check_the_sign_in_limits(site)
    if site.framework.serves_pages:
        check_the_pages_refuse_a_post_without_csrf(site)
        check_a_browser_signs_up_out_and_in(site, tmp_path)


def check_accounts_and_tokens(site: Site) -> str:
    status, user = site.json(
        "POST", "/api/users", {"email": "Ann@Example.com", "password": PASSWORD}
    )
    assert status == 201, user
    assert isinstance(user, dict) and isinstance(user["id"], int)
    assert user == {"id": user["id"], "email": "ann@example.com"}
    again = site.json("POST", "/api/users", {"email": "ann@example.com", "password": PASSWORD})
    assert again[0] == 409, again
    for bad in (
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "bo@example.com", "password": "short"},
        {"email": "bo@example.com"},
        {"password": PASSWORD},
        {"email": "bo\u0000@example.com", "password": PASSWORD},
        {"email": "bo@example.com", "password": 12345678901},
    ):
        status, answer = site.json("POST", "/api/users", bad)
        assert status in (400, 422), (bad, status, answer)

    status, granted = site.sign_in("ann@example.com", PASSWORD)
    assert status == 200, granted
    assert isinstance(granted, dict) and granted["token_type"].lower() == "bearer"
    assert isinstance(granted["expires_in"], int) and 0 < granted["expires_in"] <= 3600
    token = granted["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == str(user["id"]) and claims["exp"] > claims["iat"], claims
    # The same answer for a wrong password as for an email with no account.
    wrong = site.sign_in("ann@example.com", PASSWORD + "!")
    unknown = site.sign_in("nobody@example.com", PASSWORD)
    assert wrong[0] == unknown[0] == 401 and wrong[1] == unknown[1], (wrong, unknown)

    bearer = {"Authorization": f"Bearer {token}"}
    assert site.json("GET", "/api/users/me", headers=bearer) == (200, user)
    for header in _refused_authorizations(token, claims, site.secret):
        status, answer, content = site.request("GET", "/api/users/me", headers=header)
        assert status == 401, (header, status, content[:300])
        assert "bearer" in answer.get("www-authenticate", "").lower(), (header, answer)
    return token


def _refused_authorizations(token: str, claims: dict, secret: str) -> list[dict[str, str]]:
    """Authorization headers every framework must answer with 401, never 5xx."""
    now = int(time.time())
    forged = [
        jwt.encode(claims, "not the signing secret, but as long as one", algorithm="HS256"),
        jwt.encode(claims, secret, algorithm="HS512"),  # only HS256 is accepted
        jwt.encode({**claims, "sub": "999999"}, secret, algorithm="HS256"),  # no such account
        jwt.encode({**claims, "sub": "abc"}, secret, algorithm="HS256"),
        jwt.encode({**claims, "sub": 1}, secret, algorithm="HS256"),  # not a string
        jwt.encode({"sub": claims["sub"], "iat": now}, secret, algorithm="HS256"),  # no exp
        jwt.encode({"exp": now + 600, "iat": now}, secret, algorithm="HS256"),  # no sub
        jwt.encode({**claims, "exp": now - 60}, secret, algorithm="HS256"),  # expired
        jwt.encode(claims, None, algorithm="none"),
    ]
    header, payload, signature = token.split(".")
    return [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": f"Bearer {header}.{payload}.{signature[:-4]}AAAA"},
        {"Authorization": f"Bearer {header}.{payload}"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": "Bearer caf\u00e9"},
        *({"Authorization": f"Bearer {forgery}"} for forgery in forged),
    ]


def check_items_writes_need_an_account(site: Site, token: str) -> None:
    item = {"name": "Tea", "quantity": 3}
    assert site.json("POST", "/api/items", item)[0] == 401
    stale = {"Authorization": "Bearer " + jwt.encode({"sub": "1"}, "w" * 40, algorithm="HS256")}
    assert site.json("POST", "/api/items", item, headers=stale)[0] == 401
    bearer = {"Authorization": f"Bearer {token}"}
    status, stored = site.json("POST", "/api/items", item, headers=bearer)
    assert status == 201, stored
    assert isinstance(stored, dict)
    assert site.json("DELETE", f"/api/items/{stored['id']}")[0] == 401
    assert site.request("DELETE", f"/api/items/{stored['id']}", headers=bearer)[0] == 204


def check_hostile_sign_ins_get_a_4xx(site: Site) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "192.0.2.9"}
    for body, headers in (
        ("", form),
        ("username=ann%40example.com", form),
        ("password=x", form),
        ("username=%ff&password=%ff", form),
        ("username=a%00b&password=x", form),
        ("grant_type=client_credentials&username=ann@example.com&password=x", form),
        ('{"username": "ann@example.com", "password": "x"}', {"Content-Type": "application/json"}),
        ("username=" + "a" * (1536 * 1024) + "&password=x", form),
    ):
        status, answer, content = site.request("POST", "/api/token", body, headers)
        assert 400 <= status < 500, (body[:60], status, content[:300])
    for body in ("{", "[]", '"x"', '{"a":' * 1000 + "1" + "}" * 1000):
        status, _, content = site.request(
            "POST", "/api/users", body, {"Content-Type": "application/json"}
        )
        assert 400 <= status < 500, (body[:60], status, content[:300])


def check_the_sign_in_limits(site: Site) -> None:
    """5 failures for one email lock it, even with the right password and from elsewhere; 20
    failures from one address lock that address only. Two workers share the counts."""
    assert (
        site.json("POST", "/api/users", {"email": "cy@example.com", "password": PASSWORD})[0] == 201
    )
    for _ in range(5):
        assert site.sign_in("cy@example.com", "wrong password!", "198.51.100.1")[0] == 401
    assert site.sign_in("cy@example.com", PASSWORD, "198.51.100.1")[0] == 429
    assert site.sign_in("cy@example.com", PASSWORD, "198.51.100.2")[0] == 429
    for number in range(20):
        status = site.sign_in(f"guess{number}@example.com", "wrong password!", "203.0.113.5")[0]
        assert status == 401, (number, status)
    assert site.sign_in("guess20@example.com", "wrong password!", "203.0.113.5")[0] == 429
    assert site.sign_in("ann@example.com", PASSWORD, "203.0.113.5")[0] == 429
    assert site.sign_in("ann@example.com", PASSWORD, "203.0.113.6")[0] == 200


def check_the_pages_refuse_a_post_without_csrf(site: Site) -> None:
    page = site.request("GET", "/accounts/login")
    assert page[0] == 200 and page[1]["content-type"].startswith("text/html"), page[:2]
    form = urllib.parse.urlencode({"email": "ann@example.com", "password": PASSWORD})
    for path in ("/accounts/login", "/accounts/signup", "/accounts/password/reset"):
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": "https://example.com",
            "Referer": f"https://example.com{path}",
        }
        status, _, _ = site.request("POST", path, form, headers)
        assert status in (400, 403), (path, status)


# The browser's side, run alone in a network namespace: nginx on 443 with the project's site in
# front of the gunicorn socket, Chromium resolving example.com to loopback.
IN_NAMESPACE = """
set -e
ip link set lo up
"$NGINX_BIN" -p "$PREFIX" -c "$PREFIX/nginx.conf" &
trap 'kill -QUIT $! 2>/dev/null; wait $! || true' EXIT
"$PYTHON" -c '
import socket, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", 443), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)
'
"$PYTHON" "$SCRIPT"
"""

BROWSER = r"""
import os, quopri, re, sys, time
from playwright.sync_api import expect, sync_playwright

BASE = "https://example.com"
EMAIL, FIRST, SECOND = "dee@example.com", "correct horse battery staple", "a new long passphrase"
LOG = os.environ["APP_LOG"]


def fill(page, fields, button):
    for label, value in fields:
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name=button, exact=True).click()


def signed_in(page):
    page.wait_for_url(BASE + "/")
    expect(page.get_by_text(f"Signed in as {EMAIL}")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(BASE + "/")
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    expect(page.locator('a[href$="/accounts/login"]').first).to_be_visible()
    expect(page.locator('a[href$="/accounts/signup"]').first).to_be_visible()


def reset_link():
    pattern = re.compile(r"https?://[^/\s]+/accounts/password/reset/[^\s\"'<>]+")
    for _ in range(100):
        raw = open(LOG, "rb").read()
        # A mail written quoted-printable has soft line breaks and =3D for "=": undo them.
        quoted = re.search(rb"=(\r?\n|3D)", raw)
        for text in [quopri.decodestring(raw), raw] if quoted else [raw]:
            text = text.decode(errors="replace")
            found = pattern.findall(text)
            if found:
                return found[-1]
        time.sleep(0.1)
    sys.exit("no reset link in the log")


with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path=os.environ["CHROMIUM"],
        args=["--no-sandbox", "--host-resolver-rules=MAP example.com 127.0.0.1"],
    )
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(BASE + "/accounts/signup")
    fill(page, [("Email", EMAIL), ("Password", FIRST), ("Confirm password", FIRST)], "Sign up")
    signed_in(page)
    for cookie in context.cookies():
        assert cookie["secure"] and cookie["sameSite"] in ("Lax", "Strict"), cookie
        assert cookie["httpOnly"] or "csrf" in cookie["name"].lower(), cookie
    assert any(cookie["httpOnly"] for cookie in context.cookies()), context.cookies()
    sign_out(page)

    page.goto(BASE + "/accounts/login")
    fill(page, [("Email", EMAIL), ("Password", FIRST + "!")], "Sign in")
    expect(page.get_by_text("Incorrect email or password")).to_be_visible()
    fill(page, [("Email", EMAIL), ("Password", FIRST)], "Sign in")
    signed_in(page)
    sign_out(page)

    page.goto(BASE + "/accounts/password/reset")
    fill(page, [("Email", EMAIL)], "Send reset link")
    link = reset_link()
    assert link.startswith(BASE + "/"), link
    page.goto(link)
    fill(page, [("Password", SECOND), ("Confirm password", SECOND)], "Set password")
    page.goto(BASE + "/accounts/login")
    fill(page, [("Email", EMAIL), ("Password", SECOND)], "Sign in")
    signed_in(page)
    assert page.goto(link).status == 400, "a used reset link still works"
    print("browser: ok")
"""


def check_a_browser_signs_up_out_and_in(site: Site, tmp_path: Path) -> None:
    assert CHROMIUM and NGINX, ".ci/run installs chromium and nginx"
    framework = site.framework
    static = site.project / framework.fill(framework.static_dir, {"package": "shopacc"})
    cert, key = make_self_signed("example.com", tmp_path)
    prefix = tmp_path / "nginx"
    text = (site.project / "deploy/nginx/shopacc.conf").read_text()
    write_prefix(
        prefix, text, LocalSite(80, 443, site.socket, cert, key, static), prefix / "error.log"
    )
    script = tmp_path / "browser.py"
    script.write_text(BROWSER)
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(tmp_path),
        "PYTHON": sys.executable,
        "CHROMIUM": str(CHROMIUM),
        "NGINX_BIN": str(NGINX),  # not NGINX: nginx reads that as inherited sockets
        "PREFIX": str(prefix),
        "SCRIPT": str(script),
        "APP_LOG": str(site.log),
    }
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c", IN_NAMESPACE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "browser: ok" in result.stdout, (
        result.stdout[-2000:] + result.stderr[-4000:]
    )
