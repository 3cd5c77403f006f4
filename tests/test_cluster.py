"""`scaffold check --systemd --app-hosts N`: a project on several app machines behind one nginx,
deployed by its own deploy/ansible/site.yml, losing a machine, getting it back, and released
again one machine at a time, all under load; and its refusals, before anything exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaffold.check import cluster
from tests.helpers import SCAFFOLD, generate, run, run_cli
from tests.test_rehearsal import failures, mounts_under, rehearsal_host  # noqa: F401

CLUSTER_TIMEOUT = 1200


@pytest.mark.slow
def test_several_app_machines_fail_over_rejoin_and_release_without_a_failed_request(
    tmp_path: Path,
    rehearsal_host: None,  # noqa: F811
) -> None:
    project = generate(tmp_path / "shop", "flask", "database=postgresql", "auth=accounts")
    args = [*SCAFFOLD, "check", "--systemd", "--app-hosts", "2", "--json", project]
    result = run(args, timeout=CLUSTER_TIMEOUT)
    report = json.loads(result.stdout)
    assert report["passed"], failures(report) or result.stderr[-3000:]
    assert [stage["status"] for stage in report["stages"]] == ["passed"] * len(
        cluster.CLUSTER_STAGES
    )
    figures = report["machine"]
    assert figures["app_hosts"] == 2
    failover = figures["failover"]
    assert failover["requests"] > 1000
    assert failover["failed"] <= cluster.MAX_FAILED_SHARE * failover["requests"]
    assert failover["failed_after_failover"] == 0
    assert figures["rolling"]["failed"] == 0 and figures["rolling"]["requests"] > 1000
    assert figures["rejoin"]["served"] > 0
    assert figures["restarts"]["failed"] == 0 and figures["restarts"]["requests"] > 1000
    assert not Path("/run/netns").exists() or not [
        name for name in Path("/run/netns").iterdir() if name.name.startswith("scaffold-")
    ]


@pytest.mark.parametrize(
    ("data", "args", "message"),
    [
        (("database=postgresql",), ["--app-hosts", "2"], "--app-hosts rehearses several machines"),
        (
            ("database=postgresql",),
            ["--systemd", "--app-hosts", "1"],
            "--app-hosts 1 is out of range",
        ),
        ((), ["--systemd", "--app-hosts", "2"], "a SQLite database lives on one machine"),
    ],
)
def test_refusals_name_the_problem_and_leave_nothing_behind(
    tmp_path: Path,
    rehearsal_host: None,  # noqa: F811
    data: tuple[str, ...],
    args: list[str],
    message: str,
) -> None:
    project = generate(tmp_path / "shop", "flask", *data)
    before = sorted(p.name for p in Path("/tmp").iterdir() if p.name.startswith("scaffold-check"))
    result = run_cli("check", str(project), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    after = sorted(p.name for p in Path("/tmp").iterdir() if p.name.startswith("scaffold-check"))
    assert after == before
    assert not mounts_under(project)
