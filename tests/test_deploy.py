"""The deployment layer: rendered for every framework, checked by nginx, systemd and gunicorn,
and exercised over real HTTP through a real nginx in front of a real gunicorn."""

from __future__ import annotations

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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scaffold import catalog
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
    r"^\s*server unix:/run/{package}/gunicorn\.sock fail_timeout=0;$",
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
    for name in (
        *DEPLOY_FILES,
        "deploy/nginx/site_app.conf",
        "deploy/systemd/site_app.socket",
        "deploy/systemd/site_app.service",
    ):
        text = (project / name).read_text()
        assert not re.search(r"\{\{|\{%", text.replace("${{", "")), f"unrendered Jinja in {name}"
    conf = (project / "deploy/gunicorn.conf.py").read_text()
    assert setting(conf, "wsgi_app") == json.dumps(data["app_entry"])
    assert setting(conf, "worker_class") == json.dumps(catalog.WORKER_CLASSES[data["interface"]])
    for name, value in data["production_env"]:
        assert f'os.environ.setdefault("{name}", "{value}")' in conf
    site = (project / "deploy/nginx/site_app.conf").read_text()
    for form in NGINX_CONTRACT:
        pattern = form.format(
            package="site_app", domain=re.escape(DOMAIN), static_dir=re.escape(data["static_dir"])
        )
        assert re.search(pattern, site, re.MULTILINE), pattern
    service = (project / "deploy/systemd/site_app.service").read_text()
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", service, re.MULTILINE).group(1))
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
    assert "3 passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.slow
def test_flask_project_boots_and_passes_every_deploy_check(tmp_path: Path) -> None:
    project = generate(tmp_path / "website", "flask")
    result = run_project_tests(project, "tests/test_deploy_config.py", "tests/test_boot.py")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed" in result.stdout and "skipped" not in result.stdout


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


def test_dockerfile_only_when_asked_and_statically_sound(tmp_path: Path) -> None:
    project = generate(tmp_path / "website", "flask", "docker=true")
    dockerfile = (project / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) >= 2  # multi-stage
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    instructions = [line for line in dockerfile.splitlines() if not line.startswith("#")]
    assert "RUN python -m venv /venv && /venv/bin/pip install ." in instructions
    assert not any("[dev]" in line for line in instructions)  # no dev dependencies
    assert 'CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "--worker-tmp-dir", "/dev/shm"]' in (
        dockerfile
    )
    ignored = (project / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored
    assert "Docker" in (project / "deploy/README.md").read_text()


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
    project = generate(work / "website", "flask", "package=shop", f"domain={DOMAIN}")
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
