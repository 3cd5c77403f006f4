"""`scaffold new`: the result on disk, the git layout, and atomicity on bad input and failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from scaffold import catalog
from scaffold import new as new_module
from scaffold.errors import OperationFailed
from scaffold.repository import TEMPLATE_BRANCH
from tests.conftest import available_frameworks, generate, git_out, run_cli


@pytest.mark.parametrize("framework", available_frameworks())
def test_new_commits_the_template_branch_and_main(framework: str, tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", framework)
    assert git_out(project, "branch", "--show-current") == "main"
    assert git_out(project, "rev-parse", "main") == git_out(project, "rev-parse", TEMPLATE_BRANCH)
    assert git_out(project, "status", "--porcelain") == ""
    record = yaml.safe_load((project / ".scaffold.yml").read_text())
    assert set(record) == {"scaffold_version", "framework", "layers", "answers"}
    assert record["framework"] == framework
    assert record["layers"] == ["base", framework, "deploy"]


@pytest.mark.parametrize("framework", available_frameworks())
def test_secrets_live_only_in_the_untracked_env(framework: str, tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", framework)
    names = {var.name for var in catalog.get(framework).env if var.secret}
    values = dict(
        line.split("=", 1)
        for line in (project / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    secrets = [values[name] for name in names]
    assert all(len(value) >= 50 for value in secrets)
    assert git_out(project, "check-ignore", ".env") == ".env"
    assert (project / ".env").stat().st_mode & 0o077 == 0
    history = git_out(project, "log", "--all", "-p")
    for value in secrets:
        assert value not in history
        assert value not in (project / ".scaffold.yml").read_text()


def test_tracked_files_hold_no_machine_paths(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    for name in git_out(project, "ls-files").splitlines():
        text = (project / name).read_bytes()
        assert str(tmp_path).encode() not in text, name
        assert os.path.expanduser("~").encode() + b"/" not in text or b"/root/" not in text, name


def test_commits_need_no_git_identity(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "nothing"))
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)
    project = generate(
        tmp_path / "shop", "flask", "author_name=Ada Lovelace", "author_email=ada@example.org"
    )
    assert git_out(project, "log", "-1", "--format=%an <%ae>") == "Ada Lovelace <ada@example.org>"


def test_no_git_leaves_no_repository(tmp_path: Path) -> None:
    result = run_cli("new", str(tmp_path / "p"), "-f", "flask", "--defaults", "--no-git")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "p" / ".git").exists()
    assert (tmp_path / "p" / ".env").is_file()


def test_an_existing_empty_directory_is_filled(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    assert run_cli("new", str(tmp_path / "p"), "-f", "flask", "--defaults").exit_code == 0
    assert (tmp_path / "p" / ".scaffold.yml").is_file()


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".scaffold-" in p.name)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "package=json"], "standard-library"),
        (["--data", "package=flask"], "framework"),
        (["--data", "package=class"], "keyword"),
        (["--data", "project_name="], "empty"),
        (["--data", "project_name=a/b"], "path separator"),
        (["--data", "project_name=x\x01y"], "control"),
        (["--data", "foo"], "KEY=VALUE"),
        (["--data", "nosuchkey=1"], "unknown answer"),
        (["--data", "docker=perhaps"], "yes/no"),
        (["--data", "python_version=3.9"], "one of"),
        (["--framework", "rails"], "unknown framework"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(args, message, tmp_path: Path) -> None:
    argv = ["new", str(tmp_path / "p"), "--defaults", *args]
    if "--framework" not in args:
        argv += ["--framework", "flask"]
    result = run_cli(*argv)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_non_empty_destination_is_left_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    result = run_cli("new", str(dest), "-f", "flask", "--defaults")
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]
    assert leftovers(tmp_path) == []


def test_destination_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p").write_text("x")
    result = run_cli("new", str(tmp_path / "p"), "-f", "flask", "--defaults")
    assert result.exit_code == 2
    assert "is a file" in result.output


def test_unwritable_parent_is_refused(tmp_path: Path, monkeypatch) -> None:
    # CI runs as root, who may write anywhere, so the permission answer is faked here.
    monkeypatch.setattr(new_module.os, "access", lambda path, mode: False)
    result = run_cli("new", str(tmp_path / "p"), "-f", "flask", "--defaults")
    assert result.exit_code == 2
    assert "not writable" in result.output
    assert list(tmp_path.iterdir()) == []


def test_missing_parent_is_refused(tmp_path: Path) -> None:
    result = run_cli("new", str(tmp_path / "no" / "p"), "-f", "flask", "--defaults")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_a_render_error_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OperationFailed("template x failed to render", "fix it")

    monkeypatch.setattr(new_module, "render_project", broken)
    result = run_cli("new", str(tmp_path / "p"), "-f", "flask", "--defaults")
    assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_midway_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(new_module, "init_repository", interrupted)
    result = run_cli("new", str(tmp_path / "p"), "-f", "flask", "--defaults")
    assert result.exit_code == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.25, 0.4])
def test_sigterm_at_any_moment_leaves_all_or_nothing(delay: float, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "scaffold", "new", str(tmp_path / "p"), "-f", "flask", "--defaults"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err
    assert leftovers(tmp_path) == []
    if (tmp_path / "p").exists():  # it finished first: then it must be complete
        # -SIGTERM: it came during interpreter shutdown, after the work, when handlers are gone
        assert proc.returncode in (0, -signal.SIGTERM)
        assert (tmp_path / "p" / ".env").is_file()
        assert git_out(tmp_path / "p", "status", "--porcelain") == ""
    else:  # -SIGTERM only while still importing, before the handler and before any write
        assert proc.returncode in (130, -signal.SIGTERM)
