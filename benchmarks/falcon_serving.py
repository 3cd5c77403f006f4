"""Benchmark: the generated Falcon app's /healthz behind nginx vs a bare Falcon app, WSGI and ASGI.

All in one run, interleaved, wrk on 127.0.0.1 for a bounded time, the same worker count everywhere:
  1. each generated project (interface=wsgi, interface=asgi) through its own nginx site (HTTPS)
     -> gunicorn with the project's deploy/gunicorn.conf.py on the unix socket -> /healthz;
  2. the same project and config, gunicorn on TCP without nginx (where the cost goes);
  3. a bare Falcon hello-world (one resource, JSON) under gunicorn direct on TCP, with the worker
     class the catalog gives each interface, access log on, like production.
Prints median requests/s and the ratio generated/bare per interface (targets: >= 0.8 WSGI,
>= 0.7 ASGI). Every server runs from this interpreter's venv with bytecode compiled
(`prepare_bytecode`), the generated projects and the hello-world apps included.

    python benchmarks/falcon_serving.py [--seconds 5] [--rounds 3] [--workers 2] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from _measure import prepare_bytecode
from serving import free_port, running, tcp_open, wait_until, wrk

from scaffold.catalog import WORKER_CLASSES

PYTHON = sys.executable
DOMAIN = "localhost"  # resolves to 127.0.0.1, so wrk's TLS SNI picks the site's server block
TARGETS = {"wsgi": 0.8, "asgi": 0.7}
HELLO_FALCON = """import falcon{asgi_import}


class Health:
    {async_}def on_get(self, req, resp):
        resp.media = {{"status": "ok"}}


app = {app_class}()
app.add_route("/healthz", Health())
"""


def hello_falcon(interface: str) -> str:
    asgi = interface == "asgi"
    return HELLO_FALCON.format(
        asgi_import=".asgi" if asgi else "",
        async_="async " if asgi else "",
        app_class="falcon.asgi.App" if asgi else "falcon.App",
    )


def generate_falcon(work: Path, interface: str) -> Path:
    from scaffold.new import create_project

    package = f"bench_{interface}"
    answers = {"domain": DOMAIN, "package": package, "interface": interface}
    return create_project(work / package, "falcon", answers, use_git=False).path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, every setup")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    sbin_path = os.environ.get("PATH", "") + ":/usr/sbin"
    for tool in ("wrk", "nginx", "openssl"):
        if not shutil.which(tool, path=sbin_path):
            raise SystemExit(f"{tool} is not installed")
    nginx = shutil.which("nginx", path=sbin_path)
    from scaffold.nginx_site import LocalSite, make_self_signed, write_prefix

    work = Path(tempfile.mkdtemp(prefix="bench-falcon-"))
    log = work / "servers.log"
    cert, key = make_self_signed(DOMAIN, work)
    gunicorn = [PYTHON, "-m", "gunicorn"]
    targets: dict[str, str] = {}
    projects = {interface: generate_falcon(work, interface) for interface in TARGETS}
    for interface in TARGETS:
        (work / f"hello_falcon_{interface}.py").write_text(hello_falcon(interface))
    bytecode = prepare_bytecode(extra=[work])
    with ExitStack() as stack:
        for interface in TARGETS:
            project = projects[interface]
            package = project.name
            env = {
                **os.environ,
                "WEB_CONCURRENCY": str(args.workers),
                "PYTHONPATH": str(project),
                "APP_LOG_LEVEL": "INFO",
            }
            sock = work / f"{interface}.sock"
            http_port, https_port, bare_port, direct_port = (free_port() for _ in range(4))
            site = LocalSite(http_port, https_port, sock, cert, key, project / package / "static")
            prefix = work / f"nginx-{interface}"
            site_text = (project / "deploy" / "nginx" / f"{package}.conf").read_text()
            conf = write_prefix(prefix, site_text, site, prefix / "error.log")
            stack.enter_context(
                running(
                    [*gunicorn, "-c", "deploy/gunicorn.conf.py", "--bind", f"unix:{sock}"],
                    project,
                    env,
                    log,
                )
            )
            # The same app and config on TCP without nginx: splits the app's cost from nginx's.
            stack.enter_context(
                running(
                    [
                        *gunicorn,
                        "-c",
                        "deploy/gunicorn.conf.py",
                        "--bind",
                        f"127.0.0.1:{direct_port}",
                    ],
                    project,
                    env,
                    log,
                )
            )
            stack.enter_context(
                running(
                    [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                    prefix,
                    env,
                    log,
                    stop=signal.SIGQUIT,
                )
            )
            hello = work / f"hello_falcon_{interface}.py"
            bare_env = {**os.environ, "PYTHONPATH": str(work)}
            stack.enter_context(
                running(
                    [
                        *gunicorn,
                        "-c",
                        "/dev/null",
                        "-w",
                        str(args.workers),
                        "-k",
                        WORKER_CLASSES[interface],
                        "--access-logfile",
                        "-",
                        "-b",
                        f"127.0.0.1:{bare_port}",
                        f"{hello.stem}:app",
                    ],
                    work,
                    bare_env,
                    log,
                )
            )
            for port in (https_port, bare_port, direct_port):
                wait_until(lambda p=port: tcp_open(p), f"{interface} server on port {port}")
            wait_until(sock.exists, f"gunicorn ({interface}) on the unix socket")
            targets[f"{interface}: generated, nginx (HTTPS) -> unix socket"] = (
                f"https://{DOMAIN}:{https_port}/healthz"
            )
            targets[f"{interface}: generated, gunicorn direct (TCP)"] = (
                f"http://127.0.0.1:{direct_port}/healthz"
            )
            targets[f"{interface}: bare Falcon, gunicorn direct"] = (
                f"http://127.0.0.1:{bare_port}/healthz"
            )
        time.sleep(1.0)  # workers import the app after the listener opens
        for url in targets.values():  # warm-up, and a failure here fails fast
            wrk(url, 1, args.connections)
        rates: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, url in targets.items():
                rates[name].append(wrk(url, args.seconds, args.connections))

    medians = {name: statistics.median(values) for name, values in rates.items()}
    version = subprocess.check_output([*gunicorn, "--version"], text=True).split()[-1]
    print(
        f"wrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds interleaved, "
        f"{args.workers} gunicorn workers each, {os.cpu_count()} CPUs, gunicorn "
        f"{version.strip('()')}"
    )
    print(bytecode)
    print("| setup | median req/s | min | max |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in rates.items():
        print(f"| {name} | {medians[name]:.0f} | {min(values):.0f} | {max(values):.0f} |")
    print()
    for interface, target in TARGETS.items():
        ratio = (
            medians[f"{interface}: generated, nginx (HTTPS) -> unix socket"]
            / medians[f"{interface}: bare Falcon, gunicorn direct"]
        )
        verdict = "meets" if ratio >= target else "MISSES"
        print(
            f"{interface}: generated behind nginx / bare direct = {ratio:.2f} "
            f"({verdict} the target {target})"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
