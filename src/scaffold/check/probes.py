"""The HTTP(S) probes of the nginx stage: what a browser, a proxy-confused app, a scanner and
a static-file request would see through the project's nginx site."""

from __future__ import annotations

import http.client
import json
import secrets
import ssl
from collections.abc import Callable
from typing import Protocol

from scaffold.check.workspace import CheckContext
from scaffold.http_probe import (
    Response,
    UpstreamRecorder,
    get_http,
    get_https,
    tls_context,
    tls_sessions,
)
from scaffold.nginx_site import LocalSite

UNKNOWN_HOST = "unknown-host.invalid"
FORGED = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"}
SECURITY_HEADERS = ("Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy")


class HttpsGet(Protocol):
    """GET path over HTTPS with the project's domain; None (and a problem noted) on failure."""

    def __call__(self, path: str, headers: dict[str, str] | None = None) -> Response | None: ...


def json_ok(response: Response) -> bool:
    """A body that parses as JSON, served as JSON."""
    try:
        json.loads(response.body)
    except ValueError:
        return False
    return "json" in response.header("Content-Type")


def _probe(name: str, problems: list[str], call: Callable[[], Response]) -> Response | None:
    try:
        return call()
    except (OSError, http.client.HTTPException, ssl.SSLError) as error:
        problems.append(f"{name}: request failed ({error!r})")
        return None


def _closes_connection(call: Callable[[], Response]) -> bool:
    """nginx's `return 444` closes the connection without any response."""
    try:
        call()
    except (OSError, http.client.HTTPException, ssl.SSLError):
        return True
    return False


def probe_site(
    ctx: CheckContext, site: LocalSite, context: ssl.SSLContext, recorder: UpstreamRecorder
) -> list[str]:
    """Every probe runs, so one message lists everything that is wrong."""
    problems: list[str] = []
    framework, domain = ctx.target.framework, ctx.target.domain
    health, home = framework.health_path, framework.home_path

    def https(path: str, headers: dict[str, str] | None = None) -> Response | None:
        return _probe(
            f"GET https://{domain}{path}",
            problems,
            lambda: get_https(site.https_port, path, domain, context, headers),
        )

    if (reply := https(health)) and (reply.status != 200 or not json_ok(reply)):
        problems.append(f"{health} over HTTPS answered {reply.status}, expected 200 JSON")
    elif reply:
        ctx.progress.milestone("first 200 through nginx")
    if (page := https(home)) and page.status != 200:
        problems.append(f"home page {home} answered {page.status}, expected 200")
    if page:
        missing = [name for name in SECURITY_HEADERS if not page.header(name)]
        if missing:
            problems.append(f"home page lacks security headers: {', '.join(missing)}")
    if account := framework.account_probe(ctx.target.answers):
        path, expected = account
        if (reply := https(path)) and reply.status != expected:
            problems.append(f"accounts: {path} answered {reply.status}, expected {expected}")

    plain = _probe(
        f"GET http://{domain}{health}",
        problems,
        lambda: get_http(site.http_port, f"{health}?from=http", domain),
    )
    if plain and (
        plain.status != 308 or plain.header("Location") != f"https://{domain}{health}?from=http"
    ):
        problems.append(
            f"plain HTTP answered {plain.status} to {plain.header('Location')!r}, "
            f"expected 308 to https://{domain}{health}?from=http"
        )

    problems += _probe_forwarded_headers(domain, health, https, recorder)
    problems += _probe_static(ctx, https, recorder)
    problems += probe_tls(site, domain, health, context)
    if not _closes_connection(lambda: get_http(site.http_port, "/", UNKNOWN_HOST)):
        problems.append(
            f"plain HTTP for unknown Host {UNKNOWN_HOST} got an answer; "
            "expected the connection closed (return 444)"
        )
    if not _closes_connection(
        lambda: get_https(site.https_port, "/", UNKNOWN_HOST, tls_context(None))
    ):
        problems.append(
            f"HTTPS for unknown Host {UNKNOWN_HOST} got an answer; "
            "expected the connection refused or closed"
        )
    return problems


def probe_tls(site: LocalSite, domain: str, path: str, context: ssl.SSLContext) -> list[str]:
    """What nginx takes from the port's default server, not from the site: the TLS version,
    session resumption, and the answer to a request for another host on the site's connection."""
    problems: list[str] = []
    try:
        sessions = tls_sessions(site.https_port, path, domain, context)
    except (OSError, http.client.HTTPException, ssl.SSLError) as error:
        return [f"two HTTPS requests for {path} failed ({error!r})"]
    if sessions.version != "TLSv1.3":
        problems.append(
            f"HTTPS negotiated {sessions.version}, expected TLSv1.3: nginx takes ssl_protocols "
            "from the port's default server"
        )
    if not sessions.resumed:
        problems.append(
            "a second HTTPS connection did not resume the TLS session: nginx takes "
            "ssl_session_cache from the port's default server"
        )
    other = {"Host": UNKNOWN_HOST}
    misdirected = _probe(
        f"GET https://{domain}/ with Host: {UNKNOWN_HOST}",
        problems,
        lambda: get_https(site.https_port, "/", domain, context, other),
    )
    if misdirected and misdirected.status != 421:
        problems.append(
            f"Host {UNKNOWN_HOST} on a connection for {domain} answered "
            f"{misdirected.status}, expected 421 (Misdirected Request)"
        )
    return problems


def _probe_forwarded_headers(
    domain: str,
    health: str,
    https: HttpsGet,
    recorder: UpstreamRecorder,
) -> list[str]:
    """A forged X-Forwarded-Proto/For: nginx must overwrite the one and append to the other."""
    problems = []
    marker = f"scaffold-probe={secrets.token_hex(8)}"
    forged = https(f"{health}?{marker}", FORGED)
    if forged and forged.status != 200:
        problems.append(
            f"HTTPS with a forged X-Forwarded-Proto: http answered {forged.status} "
            "(a redirect loop behind the proxy?), expected 200"
        )
    seen = recorder.requests_for(marker)
    if forged and not seen:
        problems.append("the forged-header request never reached the server")
    for headers in seen[:1]:
        if headers.get("x-forwarded-proto") != ["https"]:
            problems.append(
                "nginx passed X-Forwarded-Proto "
                f"{headers.get('x-forwarded-proto')} upstream; it must overwrite it "
                "with $scheme"
            )
        forwarded_for = headers.get("x-forwarded-for", [""])
        if len(forwarded_for) != 1 or not forwarded_for[0].endswith("127.0.0.1"):
            problems.append(
                f"X-Forwarded-For upstream was {forwarded_for}; nginx should append "
                "the client address ($proxy_add_x_forwarded_for)"
            )
        if headers.get("host") != [domain]:
            problems.append(f"Host upstream was {headers.get('host')}, expected {domain}")
    return problems


def _probe_static(ctx: CheckContext, https: HttpsGet, recorder: UpstreamRecorder) -> list[str]:
    framework = ctx.target.framework
    probe = framework.static_probe
    static_dir = framework.fill(framework.static_dir, ctx.target.answers)
    on_disk = ctx.project / static_dir / probe
    marker = f"static-probe={secrets.token_hex(8)}"
    reply = https(f"/static/{probe}?{marker}")
    if reply is None:
        return []
    problems = []
    if reply.status != 200:
        problems.append(f"/static/{probe} answered {reply.status}, expected 200")
    elif not on_disk.is_file() or reply.body != on_disk.read_bytes():
        problems.append(f"/static/{probe} does not match {static_dir}/{probe} on disk")
    if not (reply.header("Cache-Control") or reply.header("Expires")):
        problems.append(f"/static/{probe} has no Cache-Control or Expires header")
    if recorder.requests_for(marker):
        problems.append(f"/static/{probe} was passed to the server; nginx should serve it")
    return problems
