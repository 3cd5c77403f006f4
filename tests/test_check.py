"""`scaffold check` end to end: real venvs, pytest, gunicorn, nginx and HTTP; no mocks.

Each check runs `python -m scaffold` in a subprocess with its own TMPDIR, so tests can run in
parallel (pytest -n auto) and can prove that nothing is left behind: no file, no process.
uv's package cache stays the user's shared one, which keeps a fresh venv around a second.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from scaffold.check import STAGES, preflight, run_check
from scaffold.errors import BadInput, OperationFailed
from scaffold.nginx_site import LocalSite, localize_site, make_self_signed, write_prefix
from tests.helpers import available_frameworks, generate

CHECK_TIMEOUT = 900
needs_nginx = pytest.mark.skipif(preflight.find_nginx() is None, reason="nginx is not installed")


def scaffold(*args: str, tmp: Path, timeout: float = CHECK_TIMEOUT) -> subprocess.CompletedProcess:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def check_json(project: Path, tmp: Path, *extra: str) -> tuple[int, dict]:
    result = scaffold("check", str(project), "--json", *extra, tmp=tmp)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention text (our temp dir, say)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(cmdline)
    return found


def assert_nothing_left(tmp: Path) -> None:
    assert list(tmp.iterdir()) == [], "check left temporary files behind"
    assert processes_mentioning(str(tmp)) == [], "check left processes behind"


@pytest.fixture
def tmp() -> Iterator[Path]:
    """A short TMPDIR for the check: the project's own tests put unix sockets under it, and
    pytest's deep tmp_path would pass the kernel's 108-byte limit for socket paths."""
    path = Path(tempfile.mkdtemp(prefix="chk-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def stage(report: dict, name: str) -> dict:
    return next(row for row in report["stages"] if row["name"] == name)


# -- every framework: new, then check, passes behind real nginx ------------------------------


@pytest.mark.slow
@needs_nginx
@pytest.mark.parametrize("framework", available_frameworks())
def test_new_project_passes_check_behind_nginx(framework: str, tmp_path: Path, tmp: Path) -> None:
    project = tmp_path / "website"
    created = scaffold("new", str(project), "--framework", framework, "--defaults", tmp=tmp)
    assert created.returncode == 0, created.stderr
    code, report = check_json(project, tmp)
    failed = report["failed_stage"]
    assert code == 0, f"{failed}: {stage(report, failed) if failed else ''}"
    assert report["passed"] is True
    assert [row["name"] for row in report["stages"]] == list(STAGES)
    assert all(row["status"] == "passed" for row in report["stages"]), report
    assert "X-Forwarded-*" in stage(report, "nginx")["message"]
    assert "no process left" in stage(report, "shutdown")["message"]
    assert_nothing_left(tmp)


# -- failures name their stage and exit 1 -----------------------------------------------------


@pytest.fixture
def flask_project(tmp_path: Path) -> Path:
    if "flask" not in available_frameworks():
        pytest.skip("the flask template is not there yet")
    # No database: its migration imports the app too, and would fail at the checks stage.
    project = generate(tmp_path / "website", "flask", "database=none")
    # The project's own boot and config tests would catch the breakages below in the tests
    # stage first; these tests are about the check's own server stage, so they go.
    for own_test in ("test_boot.py", "test_deploy_config.py"):
        (project / "tests" / own_test).unlink(missing_ok=True)
    return project


OUTSIDE_TESTS = 'import sys\n\nif "pytest" not in sys.modules:\n    {}\n'


@pytest.mark.slow
def test_app_raising_at_import_fails_the_gunicorn_stage(flask_project: Path, tmp: Path) -> None:
    init = flask_project / "website" / "__init__.py"
    raise_line = 'raise RuntimeError("broken on purpose at import")'
    init.write_text(OUTSIDE_TESTS.format(raise_line) + init.read_text())
    code, report = check_json(flask_project, tmp, "--no-nginx")
    assert code == 1
    assert report["failed_stage"] == "server"
    message = stage(report, "server")["message"]
    assert "exited with code" in message
    assert "RuntimeError: broken on purpose at import" in message  # the app's error, first
    assert stage(report, "server")["log"]
    assert stage(report, "shutdown")["status"] == "skipped"
    assert_nothing_left(tmp)


@pytest.mark.slow
def test_healthz_answering_500_fails_the_gunicorn_stage(flask_project: Path, tmp: Path) -> None:
    health = flask_project / "website" / "health.py"
    text = health.read_text()
    assert 'return {"status": "ok"}' in text
    health.write_text(
        "import sys\n\nfrom flask import abort\n"
        + text.replace(
            '    return {"status": "ok"}',
            '    if "pytest" not in sys.modules:\n        abort(500)\n    return {"status": "ok"}',
        )
    )
    code, report = check_json(flask_project, tmp)
    assert code == 1
    assert report["failed_stage"] == "server"
    assert "answered 500" in stage(report, "server")["message"]
    assert stage(report, "nginx")["status"] == "skipped"
    assert_nothing_left(tmp)


@pytest.mark.slow
def test_failing_project_tests_fail_the_tests_stage(flask_project: Path, tmp: Path) -> None:
    (flask_project / "tests" / "test_broken.py").write_text(
        "def test_broken_on_purpose():\n    assert 1 + 1 == 3\n"
    )
    result = scaffold("check", str(flask_project), tmp=tmp)
    assert result.returncode == 1
    assert "stage tests failed: `pytest` exited with code 1" in result.stderr
    assert re.search(r"FAIL\s+tests", result.stdout)
    assert "test_broken_on_purpose" in result.stdout  # the log tail says which test
    # The tests run alongside the serving stages, which do not depend on them.
    assert re.search(r"ok\s+server", result.stdout)
    assert "check failed at stage tests" in result.stdout
    assert_nothing_left(tmp)


@pytest.mark.slow
def test_keep_without_nginx_keeps_the_venv_and_skips_nginx(flask_project: Path, tmp: Path) -> None:
    code, report = check_json(flask_project, tmp, "--no-nginx", "--keep")
    assert code == 0, report
    assert stage(report, "nginx") == {
        "name": "nginx",
        "status": "skipped",
        "seconds": 0.0,
        "message": "skipped: --no-nginx",
    }
    kept = Path(report["kept"])
    assert (kept / "venv" / "bin" / "gunicorn").is_file()
    assert (kept / "logs" / "tests.log").is_file()
    assert processes_mentioning(str(kept)) == []


@pytest.mark.slow
@needs_nginx
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_cleans_up_files_and_processes(flask_project: Path, tmp: Path, sig: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "scaffold", "check", str(flask_project)],
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    # Interrupt once gunicorn serves: the moment with the most to clean up.
    while not any("gunicorn" in line for line in processes_mentioning(f"unix:{tmp}")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "gunicorn never started"
        time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert_nothing_left(tmp)


# -- bad input exits 2 and changes nothing ----------------------------------------------------


def test_not_a_scaffold_project_is_bad_input(tmp_path: Path, tmp: Path) -> None:
    (tmp_path / "plain").mkdir()
    result = scaffold("check", str(tmp_path / "plain"), tmp=tmp)
    assert result.returncode == 2
    assert "not a scaffold project" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert list((tmp).iterdir()) == []
    assert list((tmp_path / "plain").iterdir()) == []


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [("package", "json", "standard-library"), ("colour", "blue", "unknown answer 'colour'")],
    ids=["stdlib-package", "unknown-answer"],
)
def test_hand_broken_record_is_refused_as_update_refuses_it(
    tmp_path: Path, tmp: Path, key: str, value: str, problem: str
) -> None:
    project = generate(tmp_path / "website", available_frameworks()[0])
    record = project / ".scaffold.yml"
    body = yaml.safe_load(record.read_text())
    body["answers"][key] = value
    record.write_text(yaml.safe_dump(body, sort_keys=False))
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "edit"],
        cwd=project,
        check=True,
    )  # update refuses a dirty tree first
    updated = scaffold("update", str(project), tmp=tmp)
    checked = scaffold("check", str(project), "--no-nginx", tmp=tmp)
    assert (checked.returncode, checked.stdout) == (2, ""), checked.stdout + checked.stderr
    assert checked.stderr == updated.stderr
    assert problem in checked.stderr
    assert len(checked.stderr.strip().splitlines()) == 1
    assert list(tmp.iterdir()) == []


def test_missing_nginx_is_bad_input_with_the_fix(tmp_path: Path, monkeypatch) -> None:
    project = generate(tmp_path / "website", available_frameworks()[0])
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(preflight, "NGINX_SEARCH_PATH", str(empty))
    with pytest.raises(BadInput, match="apt-get install nginx.*--no-nginx"):
        run_check(project)


# -- the nginx site contract ------------------------------------------------------------------


def _rendered_site(tmp_path: Path) -> str:
    project = generate(tmp_path / "website", available_frameworks()[0])
    return (project / "deploy" / "nginx" / "website.conf").read_text()


def _local_site(tmp_path: Path) -> LocalSite:
    return LocalSite(
        8080,
        8443,
        tmp_path / "gunicorn.sock",
        tmp_path / "cert.pem",
        tmp_path / "key.pem",
        tmp_path / "static",
    )


def test_localized_site_points_at_temporary_places(tmp_path: Path) -> None:
    text = localize_site(_rendered_site(tmp_path), _local_site(tmp_path))
    assert "[::]" not in text
    assert "/run/" not in text and "/etc/letsencrypt" not in text and "/srv/" not in text
    assert f"server unix:{tmp_path}/gunicorn.sock fail_timeout=0;" in text
    assert re.search(r"listen 127\.0\.0\.1:8080 default_server;", text)
    assert re.search(r"listen 127\.0\.0\.1:8443 ssl http2;", text)
    assert f"alias {tmp_path}/static/;" in text


@needs_nginx
def test_localized_prefix_passes_nginx_t(tmp_path: Path) -> None:
    site = _rendered_site(tmp_path)
    tls = tmp_path / "tls"
    tls.mkdir()
    cert, key = make_self_signed("example.com", tls)
    local = LocalSite(8080, 8443, tmp_path / "gunicorn.sock", cert, key, tmp_path / "static")
    prefix = tmp_path / "prefix"
    conf = write_prefix(prefix, site, local, error_log=prefix / "error.log")
    text = conf.read_text()
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{temp}_temp_path {prefix}/temp/{temp};" in text
    result = subprocess.run(
        [preflight.find_nginx(), "-t", "-p", str(prefix), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "form",
    [
        r"server unix:/run/\S+ fail_timeout=0;",
        r"listen 80 default_server;|listen 80;",
        r"listen 443 ssl http2[^;]*;",
        r"ssl_certificate /etc/\S+;",
        r"ssl_certificate_key /etc/\S+;",
        r"alias /srv/\S+;",
    ],
)
def test_site_without_a_contract_line_is_refused(tmp_path: Path, form: str) -> None:
    site = re.sub(form, "", _rendered_site(tmp_path))
    with pytest.raises(OperationFailed, match="the nginx site lacks the line"):
        localize_site(site, _local_site(tmp_path))


@needs_nginx
def test_missing_openssl_is_bad_input_with_the_fix(tmp_path: Path, monkeypatch) -> None:
    project = generate(tmp_path / "website", available_frameworks()[0])
    nginx_only = tmp_path / "nginx-only"
    nginx_only.mkdir()
    (nginx_only / "nginx").symlink_to(preflight.find_nginx())
    monkeypatch.setenv("PATH", str(nginx_only))
    with pytest.raises(BadInput, match="openssl is not installed.*--no-nginx"):
        run_check(project)
