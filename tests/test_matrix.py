"""Issue 10's matrix: every combination rendered, checked and (where code differs) booted.

Each test runs its checks in order and records (check, status, seconds) in user_properties;
conftest.py prints them as one table at the end of the run, also under pytest-xdist.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from scaffold.project import RECORD_FILE
from scaffold.repository import TEMPLATE_BRANCH
from tests.helpers import SCAFFOLD, generate, git, run, tracked_files
from tests.matrix import Combination, boot_combinations, combinations

RUFF = str(Path(sys.executable).with_name("ruff"))
GOLDEN = Path(__file__).parent / "golden"
# SCAFFOLD_UPDATE_GOLDEN=1 pytest tests/test_matrix.py -k render  rewrites every combination's
# tests/golden/<combination>.txt from its render; review that diff like any other change.
UPDATE_GOLDEN = "SCAFFOLD_UPDATE_GOLDEN"
HOW_TO_UPDATE = f"if that is intended, rerun with {UPDATE_GOLDEN}=1 and commit the reviewed diff"
UNRENDERED = re.compile(rb"\{\{|\{%|\{#")
GITHUB_EXPRESSION = re.compile(rb"\$\{\{.*?\}\}")
# Files the app itself renders at runtime; their template syntax is meant to stay.
RUNTIME_TEMPLATE_SUFFIXES = (".html", ".jinja2", ".pt", ".mako", ".txt")
# Third-party files shipped as released (each folder has its license): their braces are theirs.
VENDORED = ("/static/swagger-ui/",)
# Ansible renders its own Jinja, on the controller, when the playbook runs.
ANSIBLE_FILES = "/deploy/ansible/"


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
    for name in tracked_files(project):
        assert not name.endswith(".jinja"), f"leftover template {name}"
        if name.endswith(RUNTIME_TEMPLATE_SUFFIXES) and "/templates/" in f"/{name}":
            continue
        if any(folder in f"/{name}" for folder in VENDORED):
            continue
        if ANSIBLE_FILES in f"/{name}" and name.endswith((".yml", ".j2")):
            continue
        text = GITHUB_EXPRESSION.sub(b"", (project / name).read_bytes())
        match = UNRENDERED.search(text)
        assert match is None, f"unrendered Jinja in {name}: {text[match.start() :][:60]!r}"


def tracked_names(project: Path) -> list[str]:
    """The project's tracked paths with its package name as {package}, so that the awkward-names
    combinations (another package) keep one stable list."""
    package = yaml.safe_load((project / RECORD_FILE).read_text())["answers"]["package"]
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(package)}(?![A-Za-z0-9_])")
    return sorted(word.sub("{package}", name) for name in tracked_files(project))


def golden_file(combo: Combination) -> Path:
    return GOLDEN / f"{combo.id}.txt"


def check_files(project: Path, combo: Combination) -> None:
    """The tracked files are exactly the combination's golden list: none added, lost or moved."""
    names = tracked_names(project)
    golden = golden_file(combo)
    if os.environ.get(UPDATE_GOLDEN) == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text("".join(f"{name}\n" for name in names))
        return
    assert golden.is_file(), f"no golden list {golden}; {HOW_TO_UPDATE}"
    expected = golden.read_text().splitlines()
    added = [name for name in names if name not in expected]
    lost = [name for name in expected if name not in names]
    moved = []  # a lost and an added file of the same name: one file in the wrong place
    for old in list(lost):
        new = next((new for new in added if Path(new).name == Path(old).name), None)
        if new is not None:
            moved.append((old, new))
            added.remove(new)
            lost.remove(old)
    if added or lost or moved:
        differences = [f"added {added}"] * bool(added) + [f"lost {lost}"] * bool(lost)
        differences += [f"moved {old} -> {new}" for old, new in moved]
        raise AssertionError(
            f"tracked files differ from tests/golden/{golden.name}: {', '.join(differences)}; "
            + HOW_TO_UPDATE
        )


def check_lint(project: Path) -> None:
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = run([RUFF, *args], cwd=project)
        assert result.returncode == 0, (result.stdout + result.stderr)[-1500:]


def check_bandit(project: Path) -> None:
    """No medium or high findings in the application code (tests may assert and spawn)."""
    result = run(
        [sys.executable, "-m", "bandit", "-q", "-r", ".", "-ll", "-x", "./tests,./.venv"],
        cwd=project,
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
    result = run(
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
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "skipped" not in result.stdout, result.stdout[-500:]
    if (project / "tests" / "test_kubernetes.py").is_file():
        check_kubernetes(project)


def check_kubernetes(project: Path) -> None:
    """The project's own manifest tests (Kubernetes' schema, offline, with kubernetes-validate)."""
    argv = [sys.executable, "-m", "pytest", "-q", "--no-cov", "--noconftest", "-p"]
    argv += ["no:cacheprovider", "tests/test_kubernetes.py"]
    result = run(argv, cwd=project, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-500:]


@pytest.mark.parametrize("combo", combinations(), ids=lambda c: c.id)
def test_render_matrix(combo: Combination, tmp_path: Path, record_property) -> None:
    checks = Checks(record_property)
    first = generate(tmp_path / "one" / "webapp", combo.framework, *combo.pairs)
    second = generate(tmp_path / "two" / "webapp", combo.framework, *combo.pairs)
    checks.run("rendered", lambda: check_rendered(first))
    checks.run("deterministic", lambda: _same_tree(first, second))
    checks.run("files", lambda: check_files(first, combo))
    checks.run("lint", lambda: check_lint(first))
    checks.run("config", lambda: check_config(first, tmp_path))
    checks.run("bandit", lambda: check_bandit(first))
    checks.run("deploy-configs", lambda: check_deploy_configs(first))
    checks.finish()


def test_every_golden_list_belongs_to_a_combination() -> None:
    """A combination that is gone leaves no golden list behind to mislead a reader."""
    expected = sorted(golden_file(combo).name for combo in combinations())
    assert sorted(path.name for path in GOLDEN.glob("*.txt")) == expected


def _same_tree(first: Path, second: Path) -> None:
    tree = f"{TEMPLATE_BRANCH}^{{tree}}"
    assert git(first, "rev-parse", tree) == git(second, "rev-parse", tree)


@pytest.mark.slow
@pytest.mark.parametrize("combo", boot_combinations(), ids=lambda c: c.id)
def test_boot_matrix(combo: Combination, tmp_path: Path, record_property) -> None:
    """`scaffold check`: install, own tests, framework checks, migrations, gunicorn, nginx, HTTP
    probes. A postgresql project gets the check's own throwaway cluster (no DATABASE_URL here)."""
    project = generate(tmp_path / "webapp", combo.framework, *combo.pairs)
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    result = run([*SCAFFOLD, "check", "--json", str(project)], timeout=900, env=env)
    report = json.loads(result.stdout)
    for stage in report["stages"]:
        record_property(f"matrix:{stage['name']}", f"{stage['status']} {stage['seconds']:.1f}s")
    assert result.returncode == 0, json.dumps(report, indent=2)[-3000:]
