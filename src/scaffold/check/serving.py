"""Stages 5-7 of `scaffold check`: the production server (gunicorn, or the framework's own) with
the production config, nginx in front of it (probed by `probes`), and a graceful shutdown that
leaves no process behind.

The serving state is a `Serving` value: the server stage returns it, the nginx stage returns
it with nginx added, and the shutdown stage takes it. Every process is also registered with the
workspace when it starts, so a stage that fails halfway leaves nothing running.
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from scaffold import catalog
from scaffold.check.probes import json_ok, probe_site
from scaffold.check.report import StageFailed
from scaffold.check.workspace import CheckContext
from scaffold.errors import OperationFailed
from scaffold.http_probe import (
    Response,
    UpstreamRecorder,
    free_port,
    get_unix,
    port_accepts,
    tls_context,
)
from scaffold.nginx_site import LocalSite, make_self_signed, write_prefix
from scaffold.subprocesses import BackgroundProcess, run_logged, tail_lines

BOOT_TIMEOUT = 60.0  # a busy 2-core machine's first worker, SQLAlchemy imported
CHECK_WORKERS = "2"  # the production config sizes workers by CPU count; two prove the same thing
DEFAULT_GRACEFUL_TIMEOUT = 30.0  # gunicorn's default, and the own servers' contract
NGINX_START_TIMEOUT = 10.0
NGINX_STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3
# gunicorn's own config loading (the file, its .env, the CLI) without importing the app.
READ_GRACEFUL_TIMEOUT = """
import sys
sys.argv = ["gunicorn", "--config", "deploy/gunicorn.conf.py"]
from gunicorn.app.wsgiapp import WSGIApplication
print(f"graceful_timeout={WSGIApplication('%(prog)s').cfg.graceful_timeout}")
"""


@dataclass(frozen=True)
class Serving:
    """What is serving the project: its server on a socket, then nginx in front of it."""

    title: str  # the server's name for messages: gunicorn, Sanic's server, ...
    server: BackgroundProcess
    socket: Path  # the server's temporary unix socket
    # How long SIGTERM may take: gunicorn.conf.py's graceful_timeout; 30 s for an own server.
    graceful_timeout: float
    nginx: BackgroundProcess | None = None


def _first_exception(log: Path) -> str:
    """The first `SomeError: message` line: the app's own error comes before gunicorn's."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    match = re.search(r"^([\w.]+(?:Error|Exception|Exit)\b.*)$", text, re.MULTILINE)
    return match.group(1)[:200] if match else ""


def _require(ctx: CheckContext, relative: str) -> Path:
    """A file the stage needs from the project. An unreadable one raises PermissionError rather
    than being called missing (is_file() hides the difference on Python 3.14+)."""
    path = ctx.project / relative
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise StageFailed(f"{relative} is missing; restore it from git") from None
    return path


# -- stage 5 ------------------------------------------------------------------------------------


def start_server(ctx: CheckContext) -> tuple[str, Serving]:
    """The production server (gunicorn, or the framework's own) on a temporary unix socket,
    started as the systemd unit starts it, until it answers the health check."""
    framework, answers = ctx.target.framework, ctx.target.answers
    server = catalog.server_of(framework)
    program, *args = server.argv_for(answers)
    if server == catalog.GUNICORN:
        _require(ctx, "deploy/gunicorn.conf.py")
    socket = ctx.workspace.path / "run" / server.socket_name
    socket.parent.mkdir(parents=True, exist_ok=True)
    # The config loads .env itself; two workers prove what the production count would.
    env = ctx.venv.env({**ctx.production_env(), "WEB_CONCURRENCY": CHECK_WORKERS})
    config_dump = None
    if server == catalog.GUNICORN:
        # Read graceful_timeout from the project's own config while the server boots.
        config_dump = BackgroundProcess(
            [str(ctx.venv.python), "-c", READ_GRACEFUL_TIMEOUT],
            cwd=ctx.project,
            env=env,
            log=ctx.log("server-config"),
        )
        ctx.workspace.on_close(config_dump.kill)
    process = BackgroundProcess(
        [*ctx.venv_command((program, *args)), server.bind_flag, f"unix:{socket}"],
        cwd=ctx.project,
        env=env,
        log=ctx.log("server"),
    )
    ctx.workspace.on_close(process.kill)
    path, started = framework.health_path, time.monotonic()
    response = _first_answer(ctx, server.title, process, socket, path, started)
    if response.status != 200 or not json_ok(response):
        body = response.body[:120].decode("utf-8", "replace")
        raise StageFailed(
            f"GET {path} answered {response.status} "
            f"{response.header('Content-Type') or '(no type)'}: {body}",
            process.log,
        )
    graceful = DEFAULT_GRACEFUL_TIMEOUT
    if (
        config_dump is not None
        and config_dump.stop(0, 30) is not None
        and (
            match := re.search(
                r"^graceful_timeout=([\d.]+)$", config_dump.log.read_text(), re.MULTILINE
            )
        )
    ):
        graceful = float(match.group(1))
    message = (
        f"{server.title} with the production config answered {path} with 200 JSON in "
        f"{time.monotonic() - started:.1f}s"
    )
    return message, Serving(server.title, process, socket, graceful)


def _first_answer(
    ctx: CheckContext,
    title: str,
    server: BackgroundProcess,
    socket: Path,
    path: str,
    started: float,
) -> Response:
    """Poll the server's socket until it answers path, exits, or BOOT_TIMEOUT passes."""
    while True:
        code = server.exit_code
        if code is not None:
            cause = _first_exception(server.log)
            raise StageFailed(
                f"{title} exited with code {code} before answering {path}"
                + (f": {cause}" if cause else ""),
                server.log,
            )
        try:
            return get_unix(
                socket, path, ctx.target.domain, {"X-Forwarded-Proto": "https"}, BOOT_TIMEOUT
            )
        except (FileNotFoundError, ConnectionError, http.client.RemoteDisconnected) as error:
            # Not listening yet, or a master whose workers failed to boot dropping the queue.
            if time.monotonic() - started > BOOT_TIMEOUT:
                raise StageFailed(
                    f"{title} did not answer {path} within {BOOT_TIMEOUT:.0f}s ({error!r})",
                    server.log,
                ) from None
            time.sleep(0.05)
        except (OSError, http.client.HTTPException) as error:
            raise StageFailed(
                f"GET {path} on {title}'s socket failed: {error!r}", server.log
            ) from None


# -- stage 6 ------------------------------------------------------------------------------------


def front_with_nginx(ctx: CheckContext, serving: Serving) -> tuple[str, Serving]:
    """nginx with the project's own site, localized, in front of the server; then the probes."""
    package, domain = ctx.target.package, ctx.target.domain
    site_file = _require(ctx, f"deploy/nginx/{package}.conf")
    tls_dir = ctx.workspace.path / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert, key = make_self_signed(domain, tls_dir)
    recorder = UpstreamRecorder(ctx.workspace.path / "run" / "upstream.sock", serving.socket)
    ctx.workspace.on_close(recorder.stop)
    site, nginx = _start_nginx(ctx, site_file.read_text(encoding="utf-8"), cert, key, recorder)
    problems = probe_site(ctx, site, tls_context(cert), recorder)
    if problems:
        raise StageFailed("; ".join(problems), ctx.log("nginx"))
    message = (
        f"nginx -t ok; https://{domain} on 127.0.0.1:{site.https_port}: healthz, home, "
        "308 redirect, security headers, X-Forwarded-* rewrite, static file, unknown host"
    )
    return message, dataclasses.replace(serving, nginx=nginx)


def _start_nginx(
    ctx: CheckContext, site_text: str, cert: Path, key: Path, recorder: UpstreamRecorder
) -> tuple[LocalSite, BackgroundProcess]:
    """nginx -t, then start; retried with new ports if another process took ours meanwhile."""
    log = ctx.log("nginx")
    nginx = ctx.target.nginx
    assert nginx is not None, "the nginx stage runs only when preflight found nginx"
    framework, answers = ctx.target.framework, ctx.target.answers
    static = ctx.project / framework.fill(framework.static_dir, answers)
    prefix = ctx.workspace.path / "nginx"
    for _ in range(PORT_ATTEMPTS):
        site = LocalSite(free_port(), free_port(), recorder.listen, cert, key, static)
        try:
            conf = write_prefix(prefix, site_text, site, error_log=log)
            run_logged(
                [nginx, "-t", "-q", "-p", str(prefix), "-c", str(conf)],
                cwd=prefix,
                env=ctx.venv.env(),
                log=log,
                timeout=30,
            )
        except OperationFailed as error:
            raise StageFailed(
                f"nginx -t rejected the localized site: {error.message}", log
            ) from None
        process = BackgroundProcess(
            [nginx, "-p", str(prefix), "-c", str(conf)], cwd=prefix, env=ctx.venv.env(), log=log
        )
        ctx.workspace.on_close(process.kill)
        deadline = time.monotonic() + NGINX_START_TIMEOUT
        while process.exit_code is None and time.monotonic() < deadline:
            if port_accepts(site.https_port) and port_accepts(site.http_port):
                return site, process
            time.sleep(0.02)
        process.kill()
        if not any("in use" in line for line in tail_lines(log, 5)):
            break
    raise StageFailed("nginx did not start", log)


# -- stage 7 ------------------------------------------------------------------------------------


def shut_down(ctx: CheckContext, serving: Serving) -> str:
    """SIGQUIT to nginx, SIGTERM to the server: each stops in time and leaves no process."""
    problems, done = [], []
    nginx = serving.nginx
    if nginx is not None and nginx.exit_code is None:
        took = nginx.stop(signal.SIGQUIT, NGINX_STOP_TIMEOUT)
        if took is None:
            problems.append(f"nginx did not stop within {NGINX_STOP_TIMEOUT:.0f}s of SIGQUIT")
        elif left := nginx.leftovers():
            problems.append(f"nginx left {len(left)} process(es) running: {left}")
        else:
            done.append(f"nginx stopped in {took:.1f}s")
    title, server, limit = serving.title, serving.server, serving.graceful_timeout
    took = server.stop(signal.SIGTERM, limit + 5)
    if took is None or took > limit:
        problems.append(
            f"{title} did not stop within its graceful timeout ({limit:.0f}s) of SIGTERM"
        )
    elif server.exit_code != 0:
        problems.append(f"{title} exited with code {server.exit_code} on SIGTERM")
    elif left := server.leftovers():
        problems.append(f"{title} left {len(left)} process(es) running: {left}")
    else:
        done.append(f"{title} stopped in {took:.1f}s (graceful timeout {limit:.0f}s)")
    if problems:
        raise StageFailed("; ".join(problems), server.log)
    return "; ".join(done) + "; no process left"
