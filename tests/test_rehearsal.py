"""`scaffold check --systemd`: every framework and every option value deployed with its own
deploy/install.sh into a throwaway Debian machine with systemd as PID 1, and probed there.

Each case is independent (its own project, machine and work directory) so pytest-xdist spreads
them; they share the cached root filesystems and wheelhouses, which are built once under a lock
(.ci/run starts the root filesystems in the background before the suite).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scaffold import catalog
from scaffold.check import rehearsal
from scaffold.errors import BadInput
from scaffold.rootfs import missing_tools
from tests.conftest import generate, run_cli
from tests.helpers import SCAFFOLD, available_frameworks, run
from tests.matrix import SHARED_OPTIONS

REHEARSAL_TIMEOUT = 900  # a cold root filesystem (~4 min) and wheelhouse included
# One framework also rehearses on the newer release (trixie: Python 3.13, nginx 1.26).
NEWER_PYTHON = ("fastapi", "python_version=3.12")
DEMANDING = ("database=postgresql", "auth=accounts")


def rehearsal_cases() -> list[tuple[str, tuple[str, ...]]]:
    """The first framework with its defaults (SQLite in the state directory; it also proves
    --keep), then every framework with the data layer and accounts on PostgreSQL (its server
    setup included), then once per other value of each framework's own options."""
    names = available_frameworks()
    cases: list[tuple[str, tuple[str, ...]]] = [(names[0], ())]
    for name in names:
        cases.append((name, DEMANDING))
        for option in catalog.get(name).options:
            if option.name in SHARED_OPTIONS:
                continue
            others = [value for value in option.choices if value != option.default]
            cases += [(name, (f"{option.name}={value}",)) for value in others]
    return [*cases, (NEWER_PYTHON[0], NEWER_PYTHON[1:])]


def case_id(case: tuple[str, tuple[str, ...]]) -> str:
    return "-".join([case[0], *case[1]])


@pytest.fixture
def rehearsal_host() -> None:
    if os.geteuid() != 0:
        pytest.skip("the rehearsal boots machines with systemd-nspawn, which needs root")
    if missing := missing_tools():
        pytest.skip(f"the rehearsal needs {', '.join(missing)} (.ci/run installs them)")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR short enough for the check to use it (see workspace.work_root)."""
    path = Path(tempfile.mkdtemp(prefix="rehearsal-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        return [line.split()[4] for line in mountinfo if line.split()[4].startswith(str(path))]


def processes_mentioning(path: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(path).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def failures(report: dict) -> str:
    return "\n".join(
        f"{stage['name']}: {stage['message']}\n  " + "\n  ".join(stage.get("log", [])[-12:])
        for stage in report["stages"]
        if stage["status"] == "failed"
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", rehearsal_cases(), ids=case_id)
def test_the_project_deploys_and_serves_under_systemd(
    case: tuple[str, tuple[str, ...]], tmp_path: Path, rehearsal_host: None
) -> None:
    framework, data = case
    project = generate(tmp_path / "shop", framework, *data)
    keep = case == rehearsal_cases()[0]  # one case also proves --keep
    args = [*SCAFFOLD, "check", "--systemd", "--json", *(["--keep"] if keep else []), project]
    result = run(args, timeout=REHEARSAL_TIMEOUT)
    report = json.loads(result.stdout)
    if keep and not report["passed"] and "stop" in report["machine"]:
        run(report["machine"]["stop"].split(), timeout=60)  # a kept machine outlives the test
    assert report["passed"], failures(report) or result.stderr[-3000:]
    assert result.returncode == 0
    answers = {"package": "shop", "deploy_user": "shop", **dict(p.split("=") for p in data)}
    needs_setup = bool(catalog.get(framework).setup_for(answers))
    statuses = {stage["name"]: stage["status"] for stage in report["stages"]}
    assert statuses == {
        name: "skipped" if name == "services" and not needs_setup else "passed"
        for name in rehearsal.REHEARSAL_STAGES
    }
    expected_release = "trixie" if case[1] == NEWER_PYTHON[1:] else "bookworm"
    assert report["machine"]["release"] == expected_release
    if keep:
        prove_the_kept_machine(report)
    else:
        assert report["kept"] is None


def prove_the_kept_machine(report: dict) -> None:
    """--keep leaves the machine serving, enterable as printed; its stop script removes all."""
    kept = Path(report["kept"])
    enter = report["machine"]["enter"].split()
    assert enter[:2] == ["nsenter", "-t"] and enter[3:] == ["-a", "bash"]
    try:
        inside = run([*enter[:4], "systemctl", "is-active", "shop.service"], timeout=30)
        assert inside.stdout.strip() == "active", inside.stderr
    finally:
        stop = report["machine"]["stop"].split()
        assert run(stop, timeout=60).returncode == 0
    assert not kept.exists()
    assert mounts_under(kept) == []
    assert processes_mentioning(kept) == []


@pytest.mark.slow
def test_ctrl_c_twice_during_the_install_leaves_nothing_behind(
    tmp_path: Path, short_tmp: Path, rehearsal_host: None
) -> None:
    """A user who hammers Ctrl-C: the second one waits until the machine and its mounts are
    gone."""
    project = generate(tmp_path / "shop", "flask")
    env = {**os.environ, "TMPDIR": str(short_tmp)}
    child = subprocess.Popen(
        [*SCAFFOLD, "check", "--systemd", str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The machine is up and install.sh runs once the machine stage has printed its line.
        assert child.stdout is not None
        for line in child.stdout:
            if line.split()[1:2] == ["machine"]:
                break
        time.sleep(2)
        assert mounts_under(short_tmp), "the machine's overlay should be mounted by now"
        child.send_signal(signal.SIGINT)
        time.sleep(0.1)
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(short_tmp.iterdir()) == []
    assert mounts_under(short_tmp) == []
    assert processes_mentioning(short_tmp) == []


def test_a_host_without_the_tools_is_refused_in_one_line(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = run([*SCAFFOLD, "check", "--systemd", project], env={**os.environ, "PATH": str(empty)})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "the systemd rehearsal needs systemd-container" in result.stderr
    assert "apt-get install -y systemd-container" in result.stderr


def test_a_python_no_debian_release_ships_is_refused_in_one_line(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "python_version=3.14")
    result = run_cli("check", "--systemd", str(project))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0, result.output
    assert "python_version 3.14 cannot be rehearsed" in result.output
    assert "trixie" in result.output


def test_a_user_other_than_root_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = generate(tmp_path / "shop", "flask")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    if missing_tools():
        pytest.skip("this machine lacks the tools, which are refused first")
    with pytest.raises(BadInput, match="needs root"):
        rehearsal.preflight_rehearsal(project)


def test_systemd_and_no_nginx_exclude_each_other(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    result = run_cli("check", "--systemd", "--no-nginx", str(project))
    assert result.exit_code == 2
    assert "--systemd deploys behind nginx" in result.output


def test_a_project_without_git_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    created = run_cli("new", str(project), "--framework", "flask", "--defaults", "--no-git")
    assert created.exit_code == 0, created.output
    with pytest.raises(BadInput, match="not a git repository"):
        rehearsal.tracked_files(project)


@pytest.mark.parametrize("case", rehearsal_cases(), ids=case_id)
def test_install_sh_is_executable_and_shellcheck_clean(
    case: tuple[str, tuple[str, ...]], tmp_path: Path
) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (.ci/run installs it)")
    project = generate(tmp_path / "shop", case[0], *case[1])
    script = project / "deploy" / "install.sh"
    assert os.access(script, os.X_OK)
    result = run([shellcheck, "--severity=style", script])
    assert result.returncode == 0, result.stdout
