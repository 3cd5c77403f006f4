"""Benchmark: `scaffold new`, and `GET /api/items` (20 rows) through nginx, the generated app
against a minimal hand-written app on the same framework, driver and server, in the same run.

Per framework (Falcon once per interface): `scaffold new --defaults` is timed (bytecode compiled,
interleaved over the frameworks, after a warm-up round). Then the project is generated with
database=sqlite, installed into its own venv with uv, migrated with the catalog's command and
given 20 items through its own API. The reference is a dozen lines of the same framework
reading the same 20 rows with the standard library's sqlite3 (aiosqlite for Falcon's ASGI app).
Both run under the framework's production server (gunicorn with the same worker class and
count, or the framework's own server with as many processes) behind the project's own nginx
site, on unix sockets, with bytecode compiled for both venvs; wrk measures them interleaved.

    python benchmarks/items.py [--frameworks flask,django] [--seconds 5] [--rounds 3]
        [--new-rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import interleave, prepare_bytecode, timed_run  # noqa: E402
from serving import running, wait_until, wrk  # noqa: E402

from scaffold import catalog  # noqa: E402
from scaffold.new import create_project  # noqa: E402
from scaffold.nginx_site import LocalSite, make_self_signed, write_prefix  # noqa: E402

DOMAIN = "localhost"
REPO = Path(__file__).resolve().parents[1]
ROWS = 20
QUERY = "SELECT id, name, description, quantity FROM items ORDER BY id LIMIT 20 OFFSET 0"
COLUMNS = ("id", "name", "description", "quantity")

# The reference apps: what someone would write by hand with no layers at all. Each reads
# REFERENCE_DB (an sqlite file with the same 20 rows) per request, as the generated apps do.
REFERENCES = {
    "flask": """
import os, sqlite3
from flask import Flask
app = Flask(__name__)
@app.get("/api/items")
def items():
    with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
        rows = db.execute(QUERY).fetchall()
    return [dict(zip(COLUMNS, row)) for row in rows]
""",
    "fastapi": """
import os, sqlite3
from fastapi import FastAPI
app = FastAPI()
@app.get("/api/items")
def items():
    with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
        rows = db.execute(QUERY).fetchall()
    return [dict(zip(COLUMNS, row)) for row in rows]
""",
    "falcon-wsgi": """
import os, sqlite3, falcon
class Items:
    def on_get(self, req, resp):
        with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
            rows = db.execute(QUERY).fetchall()
        resp.media = [dict(zip(COLUMNS, row)) for row in rows]
app = falcon.App()
app.add_route("/api/items", Items())
""",
    "falcon-asgi": """
import os, aiosqlite, falcon.asgi
class Items:
    async def on_get(self, req, resp):
        async with aiosqlite.connect(os.environ["REFERENCE_DB"]) as db:
            rows = await (await db.execute(QUERY)).fetchall()
        resp.media = [dict(zip(COLUMNS, row)) for row in rows]
app = falcon.asgi.App()
app.add_route("/api/items", Items())
""",
    "pyramid": """
import os, sqlite3
from pyramid.config import Configurator
def items(request):
    with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
        rows = db.execute(QUERY).fetchall()
    return [dict(zip(COLUMNS, row)) for row in rows]
with Configurator() as config:
    config.add_route("items", "/api/items")
    config.add_view(items, route_name="items", renderer="json", request_method="GET")
    app = config.make_wsgi_app()
""",
    "django": """
import os, sqlite3
from django.conf import settings
settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="reference")
import django
django.setup()
from django.http import JsonResponse
from django.urls import path
from django.core.wsgi import get_wsgi_application
def items(request):
    with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
        rows = db.execute(QUERY).fetchall()
    return JsonResponse([dict(zip(COLUMNS, row)) for row in rows], safe=False)
urlpatterns = [path("api/items", items)]
app = get_wsgi_application()
""",
    "starlette": """
import os, sqlite3
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
def items(request):
    with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
        rows = db.execute(QUERY).fetchall()
    return JSONResponse([dict(zip(COLUMNS, row)) for row in rows])
app = Starlette(routes=[Route("/api/items", items)])
""",
    "aiohttp": """
import os, sqlite3
from aiohttp import web
async def items(request):
    with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
        rows = db.execute(QUERY).fetchall()
    return web.json_response([dict(zip(COLUMNS, row)) for row in rows])
app = web.Application()
app.router.add_get("/api/items", items)
""",
    "bottle": """
import json, os, sqlite3
import bottle
app = bottle.Bottle()
@app.get("/api/items")
def items():
    with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
        rows = db.execute(QUERY).fetchall()
    bottle.response.content_type = "application/json"
    return json.dumps([dict(zip(COLUMNS, row)) for row in rows])
""",
    "cherrypy": """
import os, sqlite3
import cherrypy
class Items:
    @cherrypy.expose
    @cherrypy.tools.json_out()
    def index(self):
        with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
            rows = db.execute(QUERY).fetchall()
        return [dict(zip(COLUMNS, row)) for row in rows]
class Api:
    items = Items()
class Root:
    api = Api()
cherrypy.config.update({"engine.autoreload.on": False, "log.screen": False})
cherrypy.server.unsubscribe()
app = cherrypy.tree.mount(Root(), "/", {"/": {"tools.trailing_slash.on": False}})
cherrypy.engine.start()
""",
    "turbogears": """
import os, sqlite3
from tg import MinimalApplicationConfigurator, TGController, expose
class Api(TGController):
    @expose("json")
    def items(self):
        with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
            rows = db.execute(QUERY).fetchall()
        return {"items": [dict(zip(COLUMNS, row)) for row in rows]}
class Root(TGController):
    api = Api()
config = MinimalApplicationConfigurator()
config.update_blueprint({"root_controller": Root()})
app = config.make_wsgi_app()
""",
    "tornado": """
import asyncio, json, os, signal, sqlite3, sys
import tornado.httpserver, tornado.netutil, tornado.process, tornado.web
class Items(tornado.web.RequestHandler):
    def get(self):
        with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
            rows = db.execute(QUERY).fetchall()
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps([dict(zip(COLUMNS, row)) for row in rows]))
def main():
    os.setpgrp()  # the benchmark's SIGTERM takes the forked processes along
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    sock = tornado.netutil.bind_unix_socket(sys.argv[1])
    tornado.process.fork_processes(int(sys.argv[2]))
    async def serve():
        server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/api/items", Items)]))
        server.add_sockets([sock])
        await asyncio.Event().wait()
    asyncio.run(serve())
main()
""",
    "sanic": """
import os, sqlite3
from sanic import Sanic
from sanic.response import json
app = Sanic("reference")
@app.get("/api/items")
async def items(request):
    with sqlite3.connect(os.environ["REFERENCE_DB"]) as db:
        rows = db.execute(QUERY).fetchall()
    return json([dict(zip(COLUMNS, row)) for row in rows])
""",
}
# How each framework's own server runs the reference ({sock}, {workers} filled in), as its
# docs show; every other reference runs under gunicorn with the generated app's worker class.
REFERENCE_SERVERS = {
    "tornado": ["python", "reference_app.py", "{sock}", "{workers}"],
    "sanic": [
        "sanic",
        "reference_app:app",
        "--unix",
        "{sock}",
        "--workers",
        "{workers}",
        "--access-logs",
        "--no-motd",
    ],
}


def cases(only: set[str] | None) -> list[tuple[str, str, dict[str, str]]]:
    """(label, framework, answers) for every framework, Falcon once per interface."""
    found = []
    for framework in catalog.FRAMEWORKS:
        if only and framework.name not in only:
            continue
        if not (REPO / "templates" / framework.name).is_dir():
            continue
        for interface in framework.interface_choices or ("",):
            answers = {"domain": DOMAIN, "package": "bench_items", "database": "sqlite"}
            if interface:
                answers[str(framework.interface_answer)] = interface
            label = f"{framework.name}-{interface}" if interface else framework.name
            found.append((label, framework.name, answers))
    return found


def install(project: Path, extra: list[str]) -> Path:
    """A venv with the project (and extra packages), bytecode compiled; returns its bin/."""
    venv = project / ".venv"
    subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", python, "-e", ".", *extra],
        cwd=project,
        check=True,
    )
    # What pip does on a real install, and this machine turns off (PYTHONDONTWRITEBYTECODE).
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j0", str(venv / "lib"), str(project)], check=False
    )
    return venv / "bin"


def seed(port: int, token: str) -> None:
    for number in range(ROWS):
        body = json.dumps({"name": f"item {number}", "description": "x" * 40, "quantity": number})
        request = urllib.request.Request(
            f"https://{DOMAIN}:{port}/api/items",
            data=body.encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        import ssl

        context = ssl._create_unverified_context()  # noqa: S323 - our throwaway certificate
        with urllib.request.urlopen(request, context=context) as answer:  # noqa: S310
            assert answer.status == 201


def reference_db(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, description TEXT, quantity INT)"
        )
        db.executemany(
            "INSERT INTO items (name, description, quantity) VALUES (?, ?, ?)",
            [(f"item {n}", "x" * 40, n) for n in range(ROWS)],
        )


def measure(label: str, framework_name: str, answers: dict[str, str], args, work: Path):
    framework = catalog.get(framework_name)
    base = work / label
    base.mkdir()
    project = create_project(base / "bench_items", framework_name, answers, use_git=False).path
    interface = framework.interface_for(answers)
    worker = framework.worker_class or catalog.WORKER_CLASSES.get(interface, "")
    server = catalog.server_of(framework)
    extra = ["aiosqlite"] if label == "falcon-asgi" else []
    bin_dir = install(project, extra)
    state = base / "state"
    state.mkdir()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STATE_DIRECTORY": str(state),
        "WEB_CONCURRENCY": str(args.workers),
        **{k: framework.fill(v, answers) for k, v in framework.production_env},
    }
    for command in framework.prepare_for(answers):
        subprocess.run(
            [str(bin_dir / command[0]) if command[0] != "python" else str(bin_dir / "python")]
            + list(command[1:]),
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
        )
    reference = base / "reference"
    reference.mkdir()
    ref_key = label if label in REFERENCES else framework_name
    (reference / "reference_app.py").write_text(
        f"QUERY = {QUERY!r}\nCOLUMNS = {COLUMNS!r}\n" + REFERENCES[ref_key]
    )
    reference_db(reference / "items.sqlite3")
    subprocess.run([str(bin_dir / "python"), "-m", "compileall", "-q", str(reference)], check=True)
    token = re.search(r"(?m)^\w*API_TOKEN=(.+)$", (project / ".env").read_text()).group(1)
    cert, key = make_self_signed(DOMAIN, base)
    site_text = (project / "deploy/nginx/bench_items.conf").read_text()
    static = project / framework.fill(framework.static_dir, answers)
    ports = {"gen_http": 0, "gen_https": 0, "ref_http": 0, "ref_https": 0}
    from serving import free_port

    ports = {name: free_port() for name in ports}
    sockets = {"gen": base / "gen.sock", "ref": base / "ref.sock"}
    confs = {}
    for side in ("gen", "ref"):
        site = LocalSite(
            ports[f"{side}_http"], ports[f"{side}_https"], sockets[side], cert, key, static
        )
        prefix = base / f"nginx-{side}"
        confs[side] = (prefix, write_prefix(prefix, site_text, site, prefix / "error.log"))
    nginx = shutil.which("nginx", path=os.environ["PATH"] + ":/usr/sbin")
    gunicorn = str(bin_dir / "gunicorn")
    log = base / "servers.log"
    program, *rest = server.argv_for(answers)
    generated = [str(bin_dir / program), *rest, server.bind_flag, f"unix:{sockets['gen']}"]
    if framework_name in REFERENCE_SERVERS:
        fill = {"sock": str(sockets["ref"]), "workers": str(args.workers)}
        command, *options = [part.format(**fill) for part in REFERENCE_SERVERS[framework_name]]
        hand_written = [str(bin_dir / command), *options]
    else:
        # An access log like the generated config's, so neither side skips that work.
        hand_written = [gunicorn, "-c", "/dev/null", "-k", worker, "-w", str(args.workers)]
        hand_written += ["--access-logfile", "-", "--bind", f"unix:{sockets['ref']}"]
        hand_written.append("reference_app:app")
    with ExitStack() as stack:
        stack.enter_context(running(generated, project, env, log))
        stack.enter_context(
            running(
                hand_written,
                reference,
                {**env, "REFERENCE_DB": str(reference / "items.sqlite3")},
                log,
            )
        )
        for prefix, conf in confs.values():
            stack.enter_context(
                running(
                    [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                    prefix,
                    env,
                    log,
                    stop=signal.SIGQUIT,
                )
            )
        for side in ("gen", "ref"):
            wait_until(sockets[side].exists, f"{label} {side} server", timeout=60)
        time.sleep(1.5)
        seed(ports["gen_https"], token)
        urls = {
            "generated": f"https://{DOMAIN}:{ports['gen_https']}/api/items?offset=0&limit=20",
            "reference": f"https://{DOMAIN}:{ports['ref_https']}/api/items",
        }
        for url in urls.values():
            wrk(url, 1, args.connections)
        rates: dict[str, list[float]] = {name: [] for name in urls}
        for _ in range(args.rounds):
            for name, url in urls.items():
                rates[name].append(wrk(url, args.seconds, args.connections))
    return {name: statistics.median(values) for name, values in rates.items()}


def new_times(frameworks: list[str], rounds: int) -> dict[str, float]:
    """Median seconds of `scaffold new --defaults` per framework, interleaved, bytecode compiled."""
    if rounds <= 0:
        return {}
    print(prepare_bytecode(), file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bench-new-"))
    scaffold = str(Path(sys.executable).parent / "scaffold")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null"}
    jobs = {
        name: lambda i, n=name: timed_run(
            [scaffold, "new", str(work / f"{n}-{i}"), "--framework", n, "--defaults"], env=env
        )
        for name in frameworks
    }
    try:
        results = interleave(rounds, jobs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {name: statistics.median(series.seconds) for name, series in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default="", help="comma-separated; default: all")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--new-rounds", type=int, default=5, help="0: skip timing `new`")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    only = set(filter(None, args.frameworks.split(","))) or None
    found = cases(only)
    load = os.getloadavg()[0]
    new = new_times(list(dict.fromkeys(name for _, name, _ in found)), args.new_rounds)
    work = Path(tempfile.mkdtemp(prefix="bench-items-"))
    rows = []
    try:
        for label, name, answers in found:
            medians = measure(label, name, answers, args, work)
            rows.append((label, name, medians["generated"], medians["reference"]))
            print(f"{label}: {medians}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"`scaffold new --defaults`: median of {args.new_rounds} interleaved rounds. wrk -t2 "
        f"-c{args.connections} -d{args.seconds}s through nginx (HTTPS), {args.rounds} rounds "
        f"interleaved, {args.workers} server processes, {os.cpu_count()} CPUs, sqlite, load "
        f"average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print("| framework | server | `new` s | generated req/s | hand-written req/s | ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for label, name, generated, reference in rows:
        server = catalog.server_of(catalog.get(name)).title
        took = f"{new[name]:.2f}" if name in new else "-"
        print(
            f"| {label} | {server} | {took} | {generated:.0f} | {reference:.0f} "
            f"| {generated / reference:.2f} |"
        )


if __name__ == "__main__":
    main()
