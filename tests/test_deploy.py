"""The deployment layer: rendered for every framework, checked by nginx, systemd and gunicorn,
and exercised over real HTTP through a real nginx in front of a real gunicorn."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scaffold import catalog
from scaffold.check.probes import probe_tls
from scaffold.http_probe import port_accepts, tls_context
from scaffold.nginx_site import LocalSite, make_self_signed, write_prefix
from scaffold.questions import resolve_answers
from scaffold.render import render_layer, templates_root
from tests.helpers import available_frameworks, free_port, generate

TOOL_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
NGINX = shutil.which("nginx", path=TOOL_PATH)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze", path=TOOL_PATH)
DOMAIN = "example.com"
DEPLOY_FILES = (
    "deploy/gunicorn.conf.py",
    "deploy/README.md",
    "Procfile",
    "tests/test_boot.py",
    "tests/test_deploy_config.py",
)
# The forms `scaffold check` localizes (src/scaffold/nginx_site.py); the template must keep them.
NGINX_CONTRACT = (
    r"^\s*server unix:/run/{package}/{socket} fail_timeout=0;$",
    r"^\s*listen 80\b[^;]*;$",
    r"^\s*listen \[::\]:80\b[^;]*;$",
    r"^\s*listen 443 ssl http2\b[^;]*;$",
    r"^\s*listen \[::\]:443 ssl http2\b[^;]*;$",
    r"^\s*ssl_certificate /etc/letsencrypt/live/{domain}/fullchain\.pem;$",
    r"^\s*ssl_certificate_key /etc/letsencrypt/live/{domain}/privkey\.pem;$",
    r"^\s*alias /srv/{package}/{static_dir}/;$",
)


def setting(conf: str, name: str) -> str:
    match = re.search(rf"^{name} = (.+)$", conf, re.MULTILINE)
    assert match, f"{name} is not set in gunicorn.conf.py"
    return match.group(1)


def run_project_tests(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The generated project's own tests, with this interpreter (it has every framework)."""
    env = {**os.environ, "PYTHONPATH": str(project), "PATH": TOOL_PATH}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--noconftest",
            *args,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("framework", available_frameworks())
def test_every_framework_gets_the_deploy_files_from_its_catalog_entry(
    tmp_path: Path, framework: str
) -> None:
    project = generate(tmp_path / "website", framework, "package=site_app")
    fw = catalog.get(framework)
    data = catalog.template_data(fw, resolve_answers(fw.questions, {"package": "site_app"}))
    server = catalog.server_of(fw)
    on_gunicorn = server.name == "gunicorn"
    for name in (
        *(name for name in DEPLOY_FILES if on_gunicorn or not name.endswith("gunicorn.conf.py")),
        "deploy/nginx/site_app.conf",
        "deploy/systemd/site_app.socket",
        "deploy/systemd/site_app.service",
    ):
        text = (project / name).read_text()
        assert not re.search(r"\{\{|\{%", text.replace("${{", "")), f"unrendered Jinja in {name}"
    site = (project / "deploy/nginx/site_app.conf").read_text()
    for form in NGINX_CONTRACT:
        pattern = form.format(
            package="site_app",
            domain=re.escape(DOMAIN),
            static_dir=re.escape(data["static_dir"]),
            socket=re.escape(server.socket_name),
        )
        assert re.search(pattern, site, re.MULTILINE), pattern
    service = (project / "deploy/systemd/site_app.service").read_text()
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", service, re.MULTILINE).group(1))
    if not on_gunicorn:  # the framework's own server: its command, no gunicorn config
        assert not (project / "deploy/gunicorn.conf.py").exists()
        assert f"ExecStart=/srv/site_app/.venv/bin/{data['server_command']}\n" in service
        assert not data["production_env"]
        assert stop > 30  # the own servers' grace for requests in flight
    else:
        conf = (project / "deploy/gunicorn.conf.py").read_text()
        assert setting(conf, "wsgi_app") == json.dumps(data["app_entry"])
        assert setting(conf, "worker_class") == json.dumps(data["worker_class"])
        assert data["worker_class"] == (
            fw.worker_class.format(package="site_app") or catalog.WORKER_CLASSES[data["interface"]]
        )
        for name, value in data["production_env"]:
            assert f'os.environ.setdefault("{name}", "{value}")' in conf
        assert stop > int(setting(conf, "graceful_timeout").split()[0])
    assert "User=site_app" in service and "User=root" not in service
    assert not (project / "Dockerfile").exists()


def unit_settings(path: Path) -> dict[str, list[str]]:
    """Every `Key=Value` line of a systemd unit file, values in order."""
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith(("#", ";")):
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_service_has_its_own_user_and_only_nginx_reaches_the_socket(tmp_path: Path) -> None:
    project = generate(tmp_path / "website", "flask", "package=site_app")
    service = unit_settings(project / "deploy/systemd/site_app.service")
    sock = unit_settings(project / "deploy/systemd/site_app.socket")
    # Not nginx's www-data: its workers would read .env and other services reach the socket.
    assert service["User"] == service["Group"] == ["site_app"]
    # Root's socket in nginx's group: only nginx may connect, since gunicorn trusts its peers.
    assert sock["SocketUser"] == ["root"]
    assert sock["SocketGroup"] == ["www-data"]
    assert sock["SocketMode"] == ["0660"]
    # systemd chowns a RuntimeDirectory and all it holds to the service user when it starts, so
    # a socket inside it would become the service's own and nginx could no longer connect.
    (listen,) = sock["ListenStream"]
    for runtime in service["RuntimeDirectory"]:
        assert not listen.startswith(f"/run/{runtime}/"), runtime
    # What the app writes (a SQLite file in the state directory) is never world-readable.
    assert service["UMask"] == ["0027"]
    assert service["StateDirectoryMode"] == ["0750"]
    # The local .env holds fresh secrets: readable by its owner only, and never committed.
    assert (project / ".env").stat().st_mode & 0o777 == 0o600
    tracked = subprocess.run(
        ["git", "ls-files", "--", ".env"], cwd=project, capture_output=True, text=True, check=True
    )
    assert tracked.stdout == ""


@pytest.mark.parametrize("framework", available_frameworks())
def test_systemd_rates_the_service_exposure_at_most_2(tmp_path: Path, framework: str) -> None:
    if not SYSTEMD_ANALYZE:
        pytest.skip("systemd-analyze is needed (CI installs it)")
    project = generate(tmp_path / "website", framework)
    unit = project / "deploy/systemd/website.service"
    # --threshold=20: exit non-zero above 2.0 (of 10; the old unit scored 7.0 MEDIUM).
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert score, result.stdout + result.stderr
    assert result.returncode == 0 and float(score.group(1)) <= 2.0, result.stdout


@pytest.mark.parametrize("framework", available_frameworks())
def test_shipped_nginx_site_and_systemd_units_pass_the_real_tools(
    tmp_path: Path, framework: str
) -> None:
    if not (NGINX and SYSTEMD_ANALYZE):
        pytest.skip("nginx and systemd-analyze are needed (CI installs them)")
    project = generate(tmp_path / "website", framework)
    result = run_project_tests(project, "tests/test_deploy_config.py", "-k", "nginx or systemd")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.slow
def test_flask_project_boots_and_passes_every_deploy_check(tmp_path: Path) -> None:
    # This suite's venv has Flask, not a data layer: the data layers' boot tests (migration
    # first) run in each framework's own venv (tests/test_<framework>.py).
    project = generate(tmp_path / "website", "flask", "database=none")
    result = run_project_tests(project, "tests/test_deploy_config.py", "tests/test_boot.py")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "9 passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "old", "new", "failing_test"),
    [
        # A typo nginx rejects.
        (
            "deploy/nginx/website.conf",
            "proxy_redirect off;",
            "proxy_redirekt off;",
            "accepts_the_site",
        ),
        # nginx -t accepts a site that never negotiates TLS 1.3.
        (
            "deploy/nginx/website.conf",
            "ssl_protocols TLSv1.2 TLSv1.3;",
            "ssl_protocols TLSv1.2;",
            "tls13",
        ),
        # And one that closes the connection where it should answer 421.
        ("deploy/nginx/website.conf", "return 421;", "return 444;", "421"),
        # A typo systemd-analyze only reports on stderr, with exit status 0 by default.
        ("deploy/systemd/website.service", "Type=notify", "Tpye=notify", "accepts_the_units"),
        # A valid unit that lets the service keep every capability: exposure 3.0.
        ("deploy/systemd/website.service", "CapabilityBoundingSet=\n", "", "exposure"),
        # A valid worker class that is not the intended one: --check-config accepts it.
        (
            "deploy/gunicorn.conf.py",
            'worker_class = "sync"',
            'worker_class = "gthread"',
            "worker_class",
        ),
    ],
)
def test_the_generated_checks_catch_a_broken_file(
    tmp_path: Path, path: str, old: str, new: str, failing_test: str
) -> None:
    if not (NGINX and SYSTEMD_ANALYZE):
        pytest.skip("nginx and systemd-analyze are needed (CI installs them)")
    project = generate(tmp_path / "website", "flask")
    target = project / path
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, new))
    result = run_project_tests(project, "tests/test_deploy_config.py", "-k", failing_test)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed" in result.stdout


def render_deploy_layer(dest: Path, **facts: str) -> Path:
    """Only the deploy layer, for a framework that exists only in this test: catalog data in."""
    fw = catalog.Framework(
        name="imaginary",
        title="Imaginary",
        summary="",
        traits=(),
        app_entry="{package}.server:build()",
        dev_command="run",
        dev_port=8000,
        **facts,
    )  # type: ignore[arg-type]
    data = catalog.template_data(fw, resolve_answers(fw.questions, {"package": "imag"}))
    render_layer(templates_root() / "deploy", data, dest)
    return dest


def test_a_new_framework_needs_no_edit_in_the_deploy_layer(tmp_path: Path) -> None:
    asgi = render_deploy_layer(tmp_path / "asgi", interface="asgi", static_dir="public")
    wsgi = render_deploy_layer(tmp_path / "wsgi", production_env=(("IMAG_MODE", "prod"),))
    asgi_conf = (asgi / "deploy/gunicorn.conf.py").read_text()
    wsgi_conf = (wsgi / "deploy/gunicorn.conf.py").read_text()
    assert setting(asgi_conf, "worker_class") == json.dumps(catalog.WORKER_CLASSES["asgi"])
    assert setting(wsgi_conf, "worker_class") == '"sync"'
    assert setting(asgi_conf, "wsgi_app") == '"imag.server:build()"'
    assert 'os.environ.setdefault("IMAG_MODE", "prod")' in wsgi_conf
    assert "IMAG_MODE" not in asgi_conf
    assert "alias /srv/imag/public/;" in (asgi / "deploy/nginx/imag.conf").read_text()


# --- Over HTTP: nginx (the shipped site, localized) in front of gunicorn (the shipped config) ---

PROBE_APP = """
from flask import request

from {package} import create_app

app = create_app()


@app.get("/_probe")
def probe():
    original = request.environ.get("werkzeug.proxy_fix.orig", {{}})
    return {{
        "scheme": request.scheme,
        "gunicorn_scheme": original.get("wsgi.url_scheme"),
        "remote_addr": request.remote_addr,
        "forwarded_for": request.headers.get("X-Forwarded-For"),
    }}
"""


@dataclass(frozen=True)
class ServedSite:
    site: LocalSite
    project: Path
    gunicorn_log: Path

    def get(
        self,
        path: str,
        headers: dict[str, str] | None = None,
        tls: bool = True,
        server_name: str = DOMAIN,
        verify: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        """GET through nginx on 127.0.0.1, trusting only the test's certificate."""
        if tls:
            context = ssl.create_default_context(cafile=str(self.site.certificate))
            if not verify:
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                server_name, self.site.https_port, context=context, timeout=10
            )
        else:
            connection = http.client.HTTPConnection(server_name, self.site.http_port, timeout=10)
        # Reach 127.0.0.1 whatever the name, so TLS still sends the real name (SNI) and checks it.
        connection._create_connection = lambda address, *args, **kwargs: (  # type: ignore[attr-defined]
            socket.create_connection(("127.0.0.1", address[1]), *args, **kwargs)
        )
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()


def wait_for(ready, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout:.0f} s")
        time.sleep(0.1)


def stop(process: subprocess.Popen, sig: signal.Signals) -> None:
    process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSite]:
    if not NGINX:
        pytest.skip("nginx is needed (CI installs it)")
    work = tmp_path_factory.mktemp("served")
    # This suite's venv serves it: Flask without a data layer (the deploy layer is the same).
    project = generate(
        work / "website", "flask", "package=shop", f"domain={DOMAIN}", "database=none"
    )
    (work / "probe_app.py").write_text(PROBE_APP.format(package="shop"))
    # Big enough to be gzipped (gzip_min_length), served from the project's static dir.
    (project / "shop/static/css/big.css").write_text("body { color: #222; }\n" * 200)
    sock = work / "g.sock"
    cert, key = make_self_signed(DOMAIN, work)
    site = LocalSite(free_port(), free_port(), sock, cert, key, project / "shop/static")
    prefix = work / "nginx"
    conf = write_prefix(
        prefix, (project / "deploy/nginx/shop.conf").read_text(), site, prefix / "error.log"
    )
    gunicorn_log = work / "gunicorn.log"
    env = {**os.environ, "PYTHONPATH": f"{work}{os.pathsep}{project}", "WEB_CONCURRENCY": "2"}
    with gunicorn_log.open("wb") as log:
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "--bind",
                f"unix:{sock}",
                "probe_app:app",
            ],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    served = ServedSite(site, project, gunicorn_log)
    try:
        wait_for(sock.exists, "gunicorn")

        def healthy() -> bool:
            try:
                return served.get("/healthz")[0] == 200
            except OSError:
                return False

        wait_for(healthy, "nginx -> gunicorn")
        yield served
    finally:
        stop(nginx, signal.SIGQUIT)
        stop(gunicorn, signal.SIGTERM)
    assert gunicorn.returncode == 0, gunicorn_log.read_text(errors="replace")


@pytest.mark.slow
def test_forged_forwarded_proto_reaches_the_app_as_https(served_site: ServedSite) -> None:
    status, _, body = served_site.get("/_probe", {"X-Forwarded-Proto": "http"})
    assert status == 200
    seen = json.loads(body)
    assert seen["scheme"] == "https"  # what the app sees (ProxyFix, one hop)
    assert seen["gunicorn_scheme"] == "https"  # gunicorn's own secure_scheme_headers


@pytest.mark.slow
def test_forwarded_for_is_trusted_for_one_hop_only(served_site: ServedSite) -> None:
    _, _, body = served_site.get("/_probe", {"X-Forwarded-For": "198.51.100.66"})
    seen = json.loads(body)
    assert seen["forwarded_for"] == "198.51.100.66, 127.0.0.1"  # nginx appended its client
    assert seen["remote_addr"] == "127.0.0.1"  # the forged first hop is ignored
    # gunicorn's access log names the forwarded client and the duration (written after the reply).
    line = re.compile(
        r'^"198\.51\.100\.66, 127\.0\.0\.1" .*"GET /_probe HTTP/1\.[01]" 200 .*ms$', re.MULTILINE
    )
    wait_for(
        lambda: line.search(served_site.gunicorn_log.read_text(errors="replace")),
        "the access log line",
        timeout=10,
    )


@pytest.mark.slow
def test_static_files_are_served_by_nginx_not_the_app(served_site: ServedSite) -> None:
    css = served_site.project / "shop/static/css/style.css"
    status, headers, body = served_site.get("/static/css/style.css")
    assert status == 200 and body == css.read_bytes()
    assert headers["cache-control"] == "max-age=2592000"
    status, headers, _ = served_site.get("/static/css/big.css", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert served_site.get("/static/missing.css")[0] == 404
    assert "/static/" not in served_site.gunicorn_log.read_text(errors="replace")


@pytest.mark.slow
def test_security_headers_and_redirects(served_site: ServedSite) -> None:
    status, headers, _ = served_site.get("/")
    assert status == 200
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert headers["referrer-policy"]
    assert headers["server"] == "nginx"  # server_tokens off: no version
    status, headers, _ = served_site.get("/about?x=1", tls=False)
    assert status == 308
    assert headers["location"] == f"https://{DOMAIN}/about?x=1"


@pytest.mark.slow
def test_unknown_hosts_get_no_answer(served_site: ServedSite) -> None:
    with pytest.raises(http.client.RemoteDisconnected):  # 444 closes without a response
        served_site.get("/", tls=False, server_name="unknown.test")
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):  # ssl_reject_handshake
        served_site.get("/", server_name="unknown.test", verify=False)


# --- The front door: the shipped site (localized) in front of a tiny upstream, probed with the
# tools an auditor uses (openssl s_client) and raw HTTP/1.1 ---

ACME_TOKEN = "scaffold-acme-token"
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class EchoUpstream:
    """A unix-socket HTTP/1.1 upstream: a WebSocket upgrade gets 101 and then every byte echoed;
    any other request gets 200 "ok" on a connection kept open. It records each request line
    with its headers and the number of the connection it came on."""

    def __init__(self, path: Path) -> None:
        self.requests: list[tuple[int, str, dict[str, str]]] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed by stop()
            number += 1
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        with conn, contextlib.suppress(OSError):
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    if not (data := conn.recv(65536)):
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)
                }
                self.requests.append((number, request_line, headers))
                if headers.get("upgrade", "").lower() != "websocket":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    continue
                digest = hashlib.sha1((headers["sec-websocket-key"] + WEBSOCKET_GUID).encode())
                accept = base64.b64encode(digest.digest()).decode()
                conn.sendall(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    + f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n".encode()
                )
                conn.sendall(buffer)
                while data := conn.recv(65536):
                    conn.sendall(data)
                return

    def seen(self, path: str) -> list[tuple[int, dict[str, str]]]:
        return [(n, h) for n, line, h in self.requests if line.split(" ")[1:2] == [path]]

    def stop(self) -> None:
        self._server.close()


@dataclass(frozen=True)
class FrontDoor:
    served: ServedSite  # .get() over real TLS with SNI
    upstream: EchoUpstream
    site_text: str

    def s_client(self, *options: str, host: str = DOMAIN) -> subprocess.CompletedProcess[str]:
        """openssl s_client with SNI for the domain: one GET for host, read to the end, so the
        TLS 1.3 session ticket (sent after the handshake) arrives before it quits."""
        request = f"GET /tls HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        address = f"127.0.0.1:{self.served.site.https_port}"
        command = ["openssl", "s_client", "-connect", address, "-servername", DOMAIN, "-ign_eof"]
        return subprocess.run(
            [*command, *options], input=request, capture_output=True, text=True, timeout=30
        )

    def tls_socket(self) -> ssl.SSLSocket:
        context = ssl.create_default_context(cafile=str(self.served.site.certificate))
        raw = socket.create_connection(("127.0.0.1", self.served.site.https_port), timeout=10)
        return context.wrap_socket(raw, server_hostname=DOMAIN)


@contextlib.contextmanager
def nginx_serving(prefix: Path, site_text: str, site: LocalSite) -> Iterator[None]:
    """nginx serving the localized site_text until the block ends."""
    conf = write_prefix(prefix, site_text, site, prefix / "error.log")
    assert NGINX
    nginx = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: port_accepts(site.https_port), "nginx on its HTTPS port")
        yield
    finally:
        stop(nginx, signal.SIGQUIT)


@pytest.fixture(scope="module")
def front_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontDoor]:
    if not (NGINX and shutil.which("openssl")):
        pytest.skip("nginx and openssl are needed (CI installs them)")
    work = tmp_path_factory.mktemp("front")
    # An ASGI framework: the one whose apps use WebSockets. The site is the same for every one.
    project = generate(work / "website", "fastapi", f"domain={DOMAIN}")
    site_text = (project / "deploy/nginx/website.conf").read_text()
    upstream = EchoUpstream(work / "upstream.sock")
    challenges = work / "acme" / ".well-known" / "acme-challenge"
    challenges.mkdir(parents=True)
    (challenges / ACME_TOKEN).write_text("token.thumbprint")
    cert, key = make_self_signed(DOMAIN, work)
    site = LocalSite(
        free_port(), free_port(), work / "upstream.sock", cert, key, work, work / "acme"
    )
    try:
        with nginx_serving(work / "nginx", site_text, site):
            yield FrontDoor(
                ServedSite(site, project, work / "no-gunicorn.log"), upstream, site_text
            )
    finally:
        upstream.stop()


def session_line(result: subprocess.CompletedProcess[str]) -> str:
    """s_client's summary: "New, TLSv1.3, Cipher is ..." or "Reused, TLSv1.3, ..."."""
    match = re.search(r"^(?:New|Reused), \S+, Cipher is \S+$", result.stdout, re.MULTILINE)
    return match.group(0) if match else f"no session: {result.stderr.strip()[-300:]}"


@pytest.mark.slow
@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_tls_negotiates_the_version_and_resumes_the_session(
    front_door: FrontDoor, tmp_path: Path, version: str
) -> None:
    # nginx negotiates with the port's default server: without the site's TLS lines there,
    # nginx 1.22 never offers TLS 1.3 and no session is ever resumed.
    flag, session = f"-tls{version[4:].replace('.', '_')}", tmp_path / "session.pem"
    first = front_door.s_client(flag, "-sess_out", str(session))
    assert session_line(first).startswith(f"New, {version}, "), session_line(first)
    assert "HTTP/1.1 200 OK" in first.stdout
    again = front_door.s_client(flag, "-sess_in", str(session))
    assert session_line(again).startswith(f"Reused, {version}, "), session_line(again)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("curve", "offered"),
    [
        ("X25519", True),
        ("prime256v1", True),
        ("secp384r1", True),
        ("secp521r1", False),
        ("X448", False),
    ],
)
def test_tls_offers_exactly_mozillas_intermediate_curves(
    front_door: FrontDoor, curve: str, offered: bool
) -> None:
    result = front_door.s_client("-tls1_3", "-curves", curve)
    if offered:
        assert result.returncode == 0, result.stderr[-300:]
        assert re.search(rf"^Server Temp Key: .*{curve}", result.stdout, re.MULTILINE)
    else:
        assert result.returncode != 0 and "handshake failure" in result.stderr, result.stdout


def server_blocks(site: str) -> list[str]:
    """The site's top-level `server { ... }` blocks (each closes with `}` alone on a line)."""
    return re.findall(r"^server \{\n.*?^\}$", site, re.MULTILINE | re.DOTALL)


def tls_lines(block: str) -> list[str]:
    """ssl_* directives of a server block, but the ones about its own certificate."""
    own = ("ssl_certificate ", "ssl_certificate_key ", "ssl_reject_handshake ")
    lines = [line.strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith("ssl_") and not line.startswith(own)]


def test_the_default_https_server_carries_the_sites_tls_settings(tmp_path: Path) -> None:
    project = generate(tmp_path / "website", "flask")
    https = [
        b
        for b in server_blocks((project / "deploy/nginx/website.conf").read_text())
        if " 443 " in b
    ]
    default, site = (
        next(b for b in https if "default_server" in b),
        next(b for b in https if "server_name" in b),
    )
    names = {line.split()[0] for line in tls_lines(site)}
    assert {"ssl_protocols", "ssl_ecdh_curve", "ssl_ciphers", "ssl_session_cache"} <= names
    assert tls_lines(default) == tls_lines(site)


@pytest.mark.slow
def test_another_host_on_a_connection_for_the_domain_gets_421(front_door: FrontDoor) -> None:
    # HTTP/2 clients reuse a connection for every name its certificate covers; 421 makes them
    # retry on a connection of its own, where a reset stream (444) would fail the request.
    status, _, _ = front_door.served.get("/", {"Host": "unknown.test"})
    assert status == 421
    assert front_door.upstream.seen("/") == []
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):  # and no handshake for it
        front_door.served.get("/", server_name="unknown.test", verify=False)


def read_head(sock: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        assert data, f"connection closed after {head!r}"
        head += data
    return head


@pytest.mark.slow
def test_websocket_upgrades_pass_and_other_requests_keep_the_upstream_connection(
    front_door: FrontDoor,
) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    with front_door.tls_socket() as sock:
        sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {DOMAIN}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = read_head(sock)
        assert head.startswith(b"HTTP/1.1 101 "), head
        sock.sendall(b"frames both ways")
        assert sock.recv(4096) == b"frames both ways"
    ((_, upgrade),) = front_door.upstream.seen("/ws")
    assert upgrade["upgrade"] == "websocket" and upgrade["connection"] == "upgrade"
    # Any other request: no Connection header upstream, so nginx reuses the idle connection.
    for _ in range(2):
        assert front_door.served.get("/plain")[0] == 200
    plain = front_door.upstream.seen("/plain")
    assert [headers.get("connection") for _, headers in plain] == [None, None]
    assert plain[0][0] == plain[1][0], "the second request opened a new upstream connection"


@pytest.mark.slow
def test_certbot_challenges_are_served_on_port_80(front_door: FrontDoor) -> None:
    status, _, body = front_door.served.get(f"/.well-known/acme-challenge/{ACME_TOKEN}", tls=False)
    assert (status, body) == (200, b"token.thumbprint")
    status, headers, _ = front_door.served.get("/.well-known/other", tls=False)
    assert status == 308 and headers["location"] == f"https://{DOMAIN}/.well-known/other"


@pytest.mark.slow
def test_scaffold_check_fails_a_site_whose_default_server_lacks_the_tls_settings(
    front_door: FrontDoor, tmp_path: Path
) -> None:
    site = front_door.served.site
    context = tls_context(site.certificate)
    assert probe_tls(site, DOMAIN, "/", context) == []
    # The catch-all as it was: no TLS lines of its own, and 444 for another host.
    blocks = server_blocks(front_door.site_text)
    default = next(b for b in blocks if "443 ssl http2 default_server" in b)
    stripped = "\n".join(
        line for line in default.splitlines() if line.strip() not in tls_lines(default)
    )
    broken = front_door.site_text.replace(default, stripped.replace("return 421;", "return 444;"))
    moved = dataclasses.replace(site, http_port=free_port(), https_port=free_port())
    with nginx_serving(tmp_path / "nginx", broken, moved):
        problems = probe_tls(moved, DOMAIN, "/", context)
    assert len(problems) == 3, problems
    assert "expected TLSv1.3" in problems[0]
    assert "did not resume the TLS session" in problems[1]
    assert "unknown-host.invalid" in problems[2]
