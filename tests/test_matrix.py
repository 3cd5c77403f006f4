"""Issue 10's matrix: every combination rendered, checked and (where code differs) booted.

Each test runs its checks in order and records (check, status, seconds) in user_properties;
conftest.py prints them as one table at the end of the run, also under pytest-xdist.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from scaffold.project import RECORD_FILE
from scaffold.repository import TEMPLATE_BRANCH
from tests.conftest import generate, git_out
from tests.matrix import Combination, boot_combinations, combinations
from tests.postgres import postgres_url

RUFF = str(Path(sys.executable).with_name("ruff"))
UNRENDERED = re.compile(rb"\{\{|\{%|\{#")
GITHUB_EXPRESSION = re.compile(rb"\$\{\{.*?\}\}")
# Files the app itself renders at runtime; their template syntax is meant to stay.
RUNTIME_TEMPLATE_SUFFIXES = (".html", ".jinja2", ".pt", ".mako", ".txt")


class Checks:
    """Runs named checks, timing each, and fails the test at the end if any failed."""

    def __init__(self, record: Callable[[str, object], None]) -> None:
        self.record = record
        self.failures: list[str] = []

    def run(self, name: str, check: Callable[[], None]) -> None:
        start = time.perf_counter()
        try:
            check()
            status = "pass"
        except Exception as error:  # noqa: BLE001 - every failure goes into the report
            status = "FAIL"
            self.failures.append(f"{name}: {error}")
        self.record(f"matrix:{name}", f"{status} {time.perf_counter() - start:.1f}s")

    def finish(self) -> None:
        assert not self.failures, "\n".join(self.failures)


def check_rendered(project: Path) -> None:
    for name in git_out(project, "ls-files").splitlines():
        assert not name.endswith(".jinja"), f"leftover template {name}"
        if name.endswith(RUNTIME_TEMPLATE_SUFFIXES) and "/templates/" in f"/{name}":
            continue
        text = GITHUB_EXPRESSION.sub(b"", (project / name).read_bytes())
        match = UNRENDERED.search(text)
        assert match is None, f"unrendered Jinja in {name}: {text[match.start() :][:60]!r}"


def check_lint(project: Path) -> None:
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run([RUFF, *args], cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, (result.stdout + result.stderr)[-1500:]


def check_bandit(project: Path) -> None:
    """No medium or high findings in the application code (tests may assert and spawn)."""
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", ".", "-ll", "-x", "./tests,./.venv"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-1500:]


def check_config(project: Path, tmp: Path) -> None:
    record = yaml.safe_load((project / RECORD_FILE).read_text())
    text = (project / RECORD_FILE).read_text()
    assert str(tmp) not in text and "/root" not in text and "/home/" not in text
    for line in (project / ".env").read_text().splitlines():
        key, _, value = line.partition("=")
        if "SECRET" in key:
            assert value not in text, f"{key} leaked into {RECORD_FILE}"
    assert record["answers"]["package"]
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    assert workflow["jobs"], "CI workflow has no jobs"


def check_deploy_configs(project: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--no-cov",
            "--noconftest",  # the project's conftest imports its framework, not installed here
            "-p",
            "no:cacheprovider",
            "tests/test_deploy_config.py",
            "-k",
            "nginx or systemd",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "skipped" not in result.stdout, result.stdout[-500:]


@pytest.mark.parametrize("combo", combinations(), ids=lambda c: c.id)
def test_render_matrix(combo: Combination, tmp_path: Path, record_property) -> None:
    checks = Checks(record_property)
    first = generate(tmp_path / "one" / "webapp", combo.framework, *combo.pairs)
    second = generate(tmp_path / "two" / "webapp", combo.framework, *combo.pairs)
    checks.run("rendered", lambda: check_rendered(first))
    checks.run("deterministic", lambda: _same_tree(first, second))
    checks.run("layered", lambda: _every_layer_wrote(first))
    checks.run("lint", lambda: check_lint(first))
    checks.run("config", lambda: check_config(first, tmp_path))
    checks.run("bandit", lambda: check_bandit(first))
    checks.run("deploy-configs", lambda: check_deploy_configs(first))
    checks.finish()


def _same_tree(first: Path, second: Path) -> None:
    tree = f"{TEMPLATE_BRANCH}^{{tree}}"
    assert git_out(first, "rev-parse", tree) == git_out(second, "rev-parse", tree)


def _every_layer_wrote(project: Path) -> None:
    record = yaml.safe_load((project / RECORD_FILE).read_text())
    assert record["layers"] == ["base", record["framework"], "deploy"]
    assert (project / "deploy").is_dir() and (project / "README.md").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("combo", boot_combinations(), ids=lambda c: c.id)
def test_boot_matrix(combo: Combination, tmp_path: Path, record_property, request) -> None:
    """`scaffold check`: install, own tests, framework checks, gunicorn, nginx, HTTP probes."""
    project = generate(tmp_path / "webapp", combo.framework, *combo.pairs)
    if dict(combo.data).get("database") == "postgresql":
        env_file = project / ".env"
        url = request.getfixturevalue("postgres_server")
        env_file.write_text(
            re.sub(r"(?m)^DATABASE_URL=.*$", f"DATABASE_URL={url}", env_file.read_text())
        )
    result = subprocess.run(
        [sys.executable, "-m", "scaffold", "check", "--json", str(project)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads(result.stdout)
    for stage in report["stages"]:
        record_property(f"matrix:{stage['name']}", f"{stage['status']} {stage['seconds']:.1f}s")
    assert result.returncode == 0, json.dumps(report, indent=2)[-3000:]


@pytest.fixture(scope="session")
def postgres_server():
    with postgres_url() as url:
        yield url
