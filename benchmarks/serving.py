"""Benchmark: requests/s of the generated Flask app's /healthz, and the ASGI worker choice.

All in one run, interleaved, with wrk on 127.0.0.1 for a bounded time, same worker count:
  1. the generated project through its own nginx site (HTTPS) -> gunicorn on the unix socket
     (and a static file from the same nginx, to show what TLS + nginx cost alone);
  2. the same app, gunicorn with the same config on TCP, no nginx;
  3. a bare Flask hello-world under gunicorn's defaults (sync), TCP;
  4. a tiny ASGI app under uvicorn_worker.UvicornWorker and under gunicorn's native `asgi` worker.
Prints median requests/s and ratios against the direct run (and the two ASGI workers). Every
server runs from this interpreter's venv with bytecode compiled (`prepare_bytecode`), the
generated project and the hello-world apps included.

    python benchmarks/serving.py [--seconds 5] [--rounds 3] [--workers 2] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import prepare_bytecode  # noqa: E402

PYTHON = sys.executable
DOMAIN = "localhost"  # resolves to 127.0.0.1, so wrk's TLS SNI picks the site's server block
HELLO_FLASK = (
    "from flask import Flask\napp = Flask(__name__)\n\n\n@app.get('/')\ndef hello():\n"
    "    return 'Hello, World!'\n"
)
HELLO_ASGI = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status": "ok"}'})
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(ready, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.05)


def tcp_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@contextmanager
def running(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    log: Path,
    stop: signal.Signals = signal.SIGTERM,
) -> Iterator[subprocess.Popen]:
    """A background process, always stopped (and waited for) on exit."""
    with log.open("ab") as output:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=output)
    try:
        yield process
    finally:
        process.send_signal(stop)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(url: str, seconds: int, connections: int, host: str | None = None) -> float:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", url]
    if host:
        argv[1:1] = ["-H", f"Host: {host}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out.stdout)
    if not match:
        raise SystemExit(f"wrk printed no rate:\n{out.stdout}\n{out.stderr}")
    if errors and "Non-2xx" in errors.group(0):
        raise SystemExit(f"{url}: {errors.group(0)}")
    return float(match.group(1))


def generate_flask(work: Path) -> Path:
    from scaffold.new import create_project

    answers = {"domain": DOMAIN, "package": "bench_site"}
    project = create_project(work / "bench_site", "flask", answers, use_git=False)
    return project.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, every setup")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    for tool in ("wrk", "nginx", "openssl"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin"):
            raise SystemExit(f"{tool} is not installed")
    from scaffold.nginx_site import LocalSite, make_self_signed, write_prefix

    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    project = generate_flask(work)
    package = "bench_site"
    (work / "hello_flask.py").write_text(HELLO_FLASK)
    (work / "hello_asgi.py").write_text(HELLO_ASGI)
    bytecode = prepare_bytecode(extra=[work])
    env = {**os.environ, "WEB_CONCURRENCY": str(args.workers), "PYTHONPATH": str(project)}
    bare_env = {**env, "PYTHONPATH": str(work)}
    log = work / "servers.log"
    gunicorn = [PYTHON, "-m", "gunicorn"]
    bare = [*gunicorn, "-c", "/dev/null", "-w", str(args.workers), "--access-logfile", "-"]
    ports = {name: free_port() for name in ("direct", "bare", "uvicorn", "asgi", "http", "https")}
    sock = work / "g.sock"
    cert, key = make_self_signed(DOMAIN, work)
    site = LocalSite(ports["http"], ports["https"], sock, cert, key, project / package / "static")
    prefix = work / "nginx"
    conf = write_prefix(
        prefix,
        (project / "deploy/nginx" / f"{package}.conf").read_text(),
        site,
        prefix / "error.log",
    )
    nginx = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
    conf_args = ["-c", "deploy/gunicorn.conf.py"]
    # The access log goes to a file like in production (journald there), not to a pipe.
    with ExitStack() as stack:
        stack.enter_context(
            running([*gunicorn, *conf_args, "--bind", f"unix:{sock}"], project, env, log)
        )
        stack.enter_context(
            running(
                [*gunicorn, *conf_args, "--bind", f"127.0.0.1:{ports['direct']}"], project, env, log
            )
        )
        stack.enter_context(
            running(
                [*bare, "-b", f"127.0.0.1:{ports['bare']}", "hello_flask:app"], work, bare_env, log
            )
        )
        stack.enter_context(
            running(
                [
                    *bare,
                    "-k",
                    "uvicorn_worker.UvicornWorker",
                    "-b",
                    f"127.0.0.1:{ports['uvicorn']}",
                    "hello_asgi:app",
                ],
                work,
                bare_env,
                log,
            )
        )
        stack.enter_context(
            running(
                [*bare, "-k", "asgi", "-b", f"127.0.0.1:{ports['asgi']}", "hello_asgi:app"],
                work,
                bare_env,
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
        for name in ("direct", "bare", "uvicorn", "asgi", "https"):
            wait_until(lambda p=ports[name]: tcp_open(p), name)
        wait_until(sock.exists, "gunicorn on the unix socket")
        time.sleep(1.0)  # workers import the app after the listener opens
        targets = {
            "nginx (HTTPS) -> unix socket -> /healthz": (
                f"https://{DOMAIN}:{ports['https']}/healthz",
                None,
            ),
            "nginx (HTTPS) static file, no app": (
                f"https://{DOMAIN}:{ports['https']}/static/css/style.css",
                None,
            ),
            "gunicorn TCP direct -> /healthz": (
                f"http://127.0.0.1:{ports['direct']}/healthz",
                DOMAIN,
            ),
            "bare Flask hello-world, gunicorn": (f"http://127.0.0.1:{ports['bare']}/", None),
            "ASGI: uvicorn_worker.UvicornWorker": (f"http://127.0.0.1:{ports['uvicorn']}/", None),
            "ASGI: gunicorn native asgi worker": (f"http://127.0.0.1:{ports['asgi']}/", None),
        }
        for url, host in targets.values():  # warm-up, and a failure here fails fast
            wrk(url, 1, args.connections, host)
        rates: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, host) in targets.items():
                rates[name].append(wrk(url, args.seconds, args.connections, host))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    version = subprocess.check_output([*gunicorn, "--version"], text=True).split()[-1]
    print(
        f"wrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds interleaved, "
        f"{args.workers} gunicorn workers each, {os.cpu_count()} CPUs, gunicorn "
        f"{version.strip('()')}"
    )
    print(bytecode)
    print("| setup | median req/s | min | max | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    references = {
        "nginx (HTTPS) -> unix socket -> /healthz": "gunicorn TCP direct -> /healthz",
        "nginx (HTTPS) static file, no app": "gunicorn TCP direct -> /healthz",
        "bare Flask hello-world, gunicorn": "gunicorn TCP direct -> /healthz",
        "ASGI: gunicorn native asgi worker": "ASGI: uvicorn_worker.UvicornWorker",
    }
    for name, values in rates.items():
        reference = references.get(name)
        ratio = (
            f"{medians[name] / medians[reference]:.2f} vs {reference.split(' ')[0]}"
            if reference
            else "ref"
        )
        print(f"| {name} | {medians[name]:.0f} | {min(values):.0f} | {max(values):.0f} | {ratio} |")
    direct = medians["gunicorn TCP direct -> /healthz"]
    through_nginx = medians["nginx (HTTPS) -> unix socket -> /healthz"]
    bare_hello = medians["bare Flask hello-world, gunicorn"]
    native, uvicorn = (
        medians["ASGI: gunicorn native asgi worker"],
        medians["ASGI: uvicorn_worker.UvicornWorker"],
    )
    print(
        f"\nnginx/direct = {through_nginx / direct:.2f}, generated/bare = "
        f"{direct / bare_hello:.2f}, native asgi/uvicorn worker = {native / uvicorn:.2f}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
