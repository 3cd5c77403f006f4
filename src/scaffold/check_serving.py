"""Stages 5-7 of `scaffold check`: gunicorn with the production config, nginx in front of it with
real HTTP(S) probes, and a graceful shutdown that leaves no process behind."""

from __future__ import annotations

import http.client
import json
import re
import secrets
import signal
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scaffold.errors import OperationFailed
from scaffold.http_probe import (
    Response,
    UpstreamRecorder,
    free_port,
    get_http,
    get_https,
    get_unix,
    port_accepts,
    tls_context,
)
from scaffold.nginx_site import LocalSite, make_self_signed, write_prefix
from scaffold.subprocesses import BackgroundProcess, run_logged, tail_lines

if TYPE_CHECKING:
    from scaffold.check import CheckRun

BOOT_TIMEOUT = 30.0
CHECK_WORKERS = "2"  # the production config sizes workers by CPU count; two prove the same thing
NGINX_START_TIMEOUT = 10.0
NGINX_STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3
UNKNOWN_HOST = "unknown-host.invalid"
FORGED = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"}
# gunicorn's own config loading (the file, its .env, the CLI) without importing the app.
READ_GRACEFUL_TIMEOUT = """
import sys
sys.argv = ["gunicorn", "--config", "deploy/gunicorn.conf.py"]
from gunicorn.app.wsgiapp import WSGIApplication
print(f"graceful_timeout={WSGIApplication('%(prog)s').cfg.graceful_timeout}")
"""
SECURITY_HEADERS = ("Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy")


def _failed(message: str, log: Path | None = None) -> Exception:
    from scaffold.check import StageFailed

    return StageFailed(message, log)


def _json_ok(response: Response) -> bool:
    try:
        json.loads(response.body)
    except ValueError:
        return False
    return "json" in response.header("Content-Type")


def _first_exception(log: Path) -> str:
    """The first `SomeError: message` line: the app's own error comes before gunicorn's."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    match = re.search(r"^([\w.]+(?:Error|Exception|Exit)\b.*)$", text, re.MULTILINE)
    return match.group(1)[:200] if match else ""


def _gunicorn_command(run: CheckRun, *extra: str) -> list[str]:
    return [str(run.venv.bin("gunicorn")), "--config", "deploy/gunicorn.conf.py", *extra]


# -- stage 5 ------------------------------------------------------------------------------------


def stage_gunicorn(run: CheckRun) -> str:
    if not (run.project / "deploy" / "gunicorn.conf.py").is_file():
        raise _failed("deploy/gunicorn.conf.py is missing; restore it from git")
    socket = run.work / "run" / "gunicorn.sock"
    socket.parent.mkdir(parents=True, exist_ok=True)
    log = run.log_path("gunicorn")
    env = run.venv.env(run.production_env())  # gunicorn.conf.py loads .env itself
    # Read graceful_timeout from the project's own config while the server boots.
    config_dump = BackgroundProcess(
        [str(run.venv.python), "-c", READ_GRACEFUL_TIMEOUT],
        cwd=run.project,
        env=env,
        log=run.log_path("gunicorn-config"),
    )
    run.on_cleanup(config_dump.kill)
    run.gunicorn = BackgroundProcess(
        _gunicorn_command(run, "--bind", f"unix:{socket}", "--workers", CHECK_WORKERS),
        cwd=run.project,
        env=env,
        log=log,
    )
    run.socket = socket
    path, started = run.framework.health_path, time.monotonic()
    while True:
        code = run.gunicorn.exit_code
        if code is not None:
            cause = _first_exception(log)
            raise _failed(
                f"gunicorn exited with code {code} before answering {path}"
                + (f": {cause}" if cause else ""),
                log,
            )
        try:
            response = get_unix(
                socket, path, run.domain, {"X-Forwarded-Proto": "https"}, timeout=BOOT_TIMEOUT
            )
            break
        except (FileNotFoundError, ConnectionError, http.client.RemoteDisconnected) as error:
            # Not listening yet, or a master whose workers failed to boot dropping the queue.
            if time.monotonic() - started > BOOT_TIMEOUT:
                raise _failed(
                    f"gunicorn did not answer {path} within {BOOT_TIMEOUT:.0f}s ({error!r})", log
                ) from None
            time.sleep(0.05)
        except (OSError, http.client.HTTPException) as error:
            raise _failed(f"GET {path} on gunicorn's socket failed: {error!r}", log) from None
    if response.status != 200 or not _json_ok(response):
        body = response.body[:120].decode("utf-8", "replace")
        raise _failed(
            f"GET {path} answered {response.status} "
            f"{response.header('Content-Type') or '(no type)'}: {body}",
            log,
        )
    if config_dump.stop(0, 30) is not None and (
        match := re.search(
            r"^graceful_timeout=([\d.]+)$", config_dump.log.read_text(), re.MULTILINE
        )
    ):
        run.graceful_timeout = float(match.group(1))
    return f"production config answered {path} with 200 JSON in {time.monotonic() - started:.1f}s"


# -- stage 6 ------------------------------------------------------------------------------------


def _start_nginx(run: CheckRun, site_text: str, cert: Path, key: Path, upstream: Path) -> LocalSite:
    """nginx -t, then start; retried with new ports if another process took ours meanwhile."""
    log = run.log_path("nginx")
    assert run.nginx is not None
    for _ in range(PORT_ATTEMPTS):
        site = LocalSite(
            free_port(),
            free_port(),
            upstream,
            cert,
            key,
            run.project / run.framework.fill(run.framework.static_dir, run.answers),
        )
        prefix = run.work / "nginx"
        try:
            conf = write_prefix(prefix, site_text, site, error_log=log)
            run_logged(
                [run.nginx, "-t", "-q", "-p", str(prefix), "-c", str(conf)],
                cwd=prefix,
                env=run.venv.env(),
                log=log,
                timeout=30,
            )
        except OperationFailed as error:
            raise _failed(f"nginx -t rejected the localized site: {error.message}", log) from None
        process = BackgroundProcess(
            [run.nginx, "-p", str(prefix), "-c", str(conf)], cwd=prefix, env=run.venv.env(), log=log
        )
        run.nginx_process = process
        deadline = time.monotonic() + NGINX_START_TIMEOUT
        while process.exit_code is None and time.monotonic() < deadline:
            if port_accepts(site.https_port) and port_accepts(site.http_port):
                return site
            time.sleep(0.02)
        process.kill()
        if not any("in use" in line for line in tail_lines(log, 5)):
            break
    raise _failed("nginx did not start", log)


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


def stage_nginx(run: CheckRun) -> str:
    site_file = run.project / "deploy" / "nginx" / f"{run.package}.conf"
    if not site_file.is_file():
        raise _failed(f"deploy/nginx/{run.package}.conf is missing; restore it from git")
    tls_dir = run.work / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert, key = make_self_signed(run.domain, tls_dir)
    recorder = UpstreamRecorder(run.work / "run" / "upstream.sock", run.socket)
    run.on_cleanup(recorder.stop)
    site = _start_nginx(run, site_file.read_text(encoding="utf-8"), cert, key, recorder.listen)
    problems = _probe_site(run, site, tls_context(cert), recorder)
    if problems:
        raise _failed("; ".join(problems), run.log_path("nginx"))
    return (
        f"nginx -t ok; https://{run.domain} on 127.0.0.1:{site.https_port}: healthz, home, "
        "308 redirect, security headers, X-Forwarded-* rewrite, static file, unknown host"
    )


def _probe_site(
    run: CheckRun, site: LocalSite, context: ssl.SSLContext, recorder: UpstreamRecorder
) -> list[str]:
    """Every probe runs, so one message lists everything that is wrong."""
    problems: list[str] = []
    domain, health, home = run.domain, run.framework.health_path, run.framework.home_path

    def https(path: str, headers: dict[str, str] | None = None) -> Response | None:
        return _probe(
            f"GET https://{domain}{path}",
            problems,
            lambda: get_https(site.https_port, path, domain, context, headers),
        )

    if (reply := https(health)) and (reply.status != 200 or not _json_ok(reply)):
        problems.append(f"{health} over HTTPS answered {reply.status}, expected 200 JSON")
    elif reply:
        run.progress.milestone("first 200 through nginx")
    if (page := https(home)) and page.status != 200:
        problems.append(f"home page {home} answered {page.status}, expected 200")
    if page:
        missing = [name for name in SECURITY_HEADERS if not page.header(name)]
        if missing:
            problems.append(f"home page lacks security headers: {', '.join(missing)}")

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

    marker = f"scaffold-probe={secrets.token_hex(8)}"
    forged = https(f"{health}?{marker}", FORGED)
    if forged and forged.status != 200:
        problems.append(
            f"HTTPS with a forged X-Forwarded-Proto: http answered {forged.status} "
            "(a redirect loop behind the proxy?), expected 200"
        )
    seen = recorder.requests_for(marker)
    if forged and not seen:
        problems.append("the forged-header request never reached gunicorn")
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

    problems += _probe_static(run, https, recorder)
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


def _probe_static(
    run: CheckRun, https: Callable[[str], Response | None], recorder: UpstreamRecorder
) -> list[str]:
    probe = run.framework.static_probe
    static_dir = run.framework.fill(run.framework.static_dir, run.answers)
    on_disk = run.project / static_dir / probe
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
        problems.append(f"/static/{probe} was passed to gunicorn; nginx should serve it")
    return problems


# -- stage 7 ------------------------------------------------------------------------------------


def stage_shutdown(run: CheckRun) -> str:
    problems, done = [], []
    if run.nginx_process is not None and run.nginx_process.exit_code is None:
        took = run.nginx_process.stop(signal.SIGQUIT, NGINX_STOP_TIMEOUT)
        if took is None:
            problems.append(f"nginx did not stop within {NGINX_STOP_TIMEOUT:.0f}s of SIGQUIT")
        elif left := run.nginx_process.leftovers():
            problems.append(f"nginx left {len(left)} process(es) running: {left}")
        else:
            done.append(f"nginx stopped in {took:.1f}s")
    assert run.gunicorn is not None
    limit = run.graceful_timeout
    took = run.gunicorn.stop(signal.SIGTERM, limit + 5)
    if took is None or took > limit:
        problems.append(f"gunicorn did not stop within graceful_timeout ({limit:.0f}s) of SIGTERM")
    elif run.gunicorn.exit_code != 0:
        problems.append(f"gunicorn exited with code {run.gunicorn.exit_code} on SIGTERM")
    elif left := run.gunicorn.leftovers():
        problems.append(f"gunicorn left {len(left)} process(es) running: {left}")
    else:
        done.append(f"gunicorn stopped in {took:.1f}s (graceful_timeout {limit:.0f}s)")
    if problems:
        raise _failed("; ".join(problems), run.log_path("gunicorn"))
    return "; ".join(done) + "; no process left"
