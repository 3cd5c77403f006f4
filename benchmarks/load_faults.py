"""Issue 12: load and faults through nginx, per framework, bounded and on 127.0.0.1 only.

For a default project of each framework, served by its own deploy/gunicorn.conf.py behind its
own nginx site (localized into a temp prefix), with wrk against /healthz over HTTPS:
  load     N seconds of wrk: expect 0 non-2xx responses and 0 socket errors
  kill -9  one worker killed mid-load: expect < 0.1% errors and the master respawning it
  HUP      a reload mid-load: expect 0 errors
  SIGTERM  stop mid-load: the master exits within graceful_timeout (30 s)
Each project's venv (site-packages and the editable project) is compiled after the install
(`prepare_bytecode`), as `pip install` would, and PYTHONDONTWRITEBYTECODE is unset.

    python benchmarks/load_faults.py [--frameworks flask django] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import prepare_bytecode  # noqa: E402
from serving import free_port, running, wait_until  # noqa: E402

from scaffold import catalog  # noqa: E402
from scaffold.nginx_site import LocalSite, make_self_signed, write_prefix  # noqa: E402
from scaffold.venv import find_uv  # noqa: E402

DOMAIN = "localhost"
WORKERS = 2
GRACEFUL_TIMEOUT = 30.0
UV = find_uv() or "uv"
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")


def wrk(url: str, seconds: float, connections: int = 16) -> dict[str, int]:
    """Run wrk; return total requests, non-2xx/3xx responses and socket errors."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "5s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, sock.groups())) if sock else 0,
    }


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def prepare_project(work: Path, name: str) -> tuple[Path, Path, dict[str, str], str]:
    """Generate, install into its own venv, compile it, run the catalog's prepare steps."""
    from scaffold.new import create_project

    project = create_project(work / name, name, {"domain": DOMAIN}, use_git=False)
    framework, answers = project.framework, project.answers
    venv = project.path / ".venv"
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [UV, "pip", "install", "-q", "--python", str(venv / "bin/python"), "-e", "."],
        cwd=project.path,
        check=True,
    )
    bytecode = prepare_bytecode(venv / "bin/python")
    env = {
        **os.environ,
        "WEB_CONCURRENCY": str(WORKERS),
        "PATH": f"{venv}/bin:{os.environ['PATH']}",
    }
    env.update({k: framework.fill(v, answers) for k, v in framework.production_env})
    for command in framework.prepare:
        subprocess.run(
            [str(venv / "bin/python"), *command[1:]] if command[0] == "python" else list(command),
            cwd=project.path,
            env=env,
            check=True,
            capture_output=True,
        )
    return project.path, venv, env, bytecode


def measure(name: str, seconds: float) -> dict[str, str]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-faults-{name}-"))
    framework = catalog.get(name)
    project, venv, env, bytecode = prepare_project(work, name)
    package = next(p.stem for p in (project / "deploy/nginx").glob("*.conf"))
    sock = work / "g.sock"
    cert, key = make_self_signed(DOMAIN, work)
    https = free_port()
    static_root = project / framework.fill(framework.static_dir, {"package": package})
    site = LocalSite(free_port(), https, sock, cert, key, static_root)
    prefix = work / "nginx"
    conf = write_prefix(
        prefix, (project / f"deploy/nginx/{package}.conf").read_text(), site, prefix / "error.log"
    )
    url = f"https://{DOMAIN}:{https}{framework.health_path}"
    gunicorn = [
        str(venv / "bin/python"),
        "-m",
        "gunicorn",
        "-c",
        "deploy/gunicorn.conf.py",
        "--bind",
        f"unix:{sock}",
    ]
    log = work / "servers.log"
    results: dict[str, str] = {"bytecode": bytecode.replace("\n", "; ")}
    with ExitStack() as stack:
        stack.enter_context(
            running(
                [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                prefix,
                env,
                log,
                stop=signal.SIGQUIT,
            )
        )

        def start_gunicorn() -> subprocess.Popen:
            master = stack.enter_context(running(gunicorn, project, env, log))
            wait_until(
                lambda: len(worker_pids(master.pid)) == WORKERS and sock.exists(),
                f"{name} gunicorn",
            )
            wrk(url, 1)  # warm-up: every worker has imported the app
            return master

        master = start_gunicorn()
        load = wrk(url, seconds)
        results["load"] = (
            f"{load['requests']} requests, {load['non2xx']} non-2xx, "
            f"{load['socket_errors']} socket errors"
        )

        def under_load(action, duration: float = 10.0) -> dict[str, int]:
            proc = subprocess.Popen(
                ["wrk", "-t2", "-c16", f"-d{duration:.0f}s", "--timeout", "5s", url],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(duration / 3)
            action()
            out = proc.communicate(timeout=duration + 60)[0]
            total = int(re.search(r"(\d+) requests in", out).group(1))
            bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            sock_err = re.search(
                r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                r"timeout (\d+)",
                out,
            )
            errors = (int(bad.group(1)) if bad else 0) + (
                sum(map(int, sock_err.groups())) if sock_err else 0
            )
            return {"requests": total, "errors": errors}

        victim: list[int] = []

        def kill_one_worker() -> None:
            # Picked at the last moment: max_requests may have recycled earlier workers.
            victim.append(worker_pids(master.pid)[0])
            os.kill(victim[0], signal.SIGKILL)

        killed = under_load(kill_one_worker)
        wait_until(lambda: len(worker_pids(master.pid)) == WORKERS, "respawn", 15)
        respawned = victim[0] not in worker_pids(master.pid)
        rate = killed["errors"] / max(killed["requests"], 1)
        results["kill -9 worker"] = (
            f"{killed['errors']}/{killed['requests']} errors "
            f"({rate:.3%}), respawned: {bool(respawned)}"
        )
        hup = under_load(lambda: os.kill(master.pid, signal.SIGHUP))
        results["HUP reload"] = f"{hup['errors']}/{hup['requests']} errors"
        stopped: dict[str, float] = {}

        def terminate() -> None:
            start = time.perf_counter()
            master.send_signal(signal.SIGTERM)
            master.wait(timeout=GRACEFUL_TIMEOUT + 10)
            stopped["seconds"] = time.perf_counter() - start

        under_load(terminate, 6.0)
        results["SIGTERM drain"] = (
            f"master exited in {stopped['seconds']:.2f} s "
            f"(graceful_timeout {GRACEFUL_TIMEOUT:.0f} s)"
        )
    shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="*", default=list(catalog.names()))
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load run")
    args = parser.parse_args()
    if not (shutil.which("wrk") and NGINX):
        raise SystemExit("wrk and nginx are needed: apt-get install wrk nginx-light")
    print(f"{WORKERS} workers each, wrk -t2 -c16, {os.cpu_count()} CPUs, through nginx (HTTPS)")
    print("| framework | check | result |\n| --- | --- | --- |")
    for name in args.frameworks:
        for check, result in measure(name, args.seconds).items():
            print(f"| {name} | {check} | {result} |", flush=True)


if __name__ == "__main__":
    main()
