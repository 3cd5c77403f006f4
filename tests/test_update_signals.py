"""Issue 12: SIGTERM at any moment of `scaffold update` leaves the merge done or the old state."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEMPLATES, generate, git_out


def state(project: Path) -> tuple[str, str, str, str, str]:
    return (
        git_out(project, "rev-parse", "HEAD"),
        git_out(project, "rev-parse", "scaffold/template"),
        git_out(project, "status", "--porcelain"),
        git_out(project, "branch", "--show-current"),
        git_out(project, "worktree", "list", "--porcelain").count("worktree "),
    )


@pytest.mark.parametrize("delay", [0.1, 0.25, 0.4, 0.55, 0.7, 0.9])
def test_sigterm_during_update(delay: float, tmp_path: Path) -> None:
    project = generate(tmp_path / "proj", "flask")
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    editorconfig = templates / "base" / "template" / ".editorconfig"
    editorconfig.write_text(
        editorconfig.read_text() + "\n[*.md]\ntrim_trailing_whitespace = false\n"
    )
    before = state(project)
    env = {**os.environ, "SCAFFOLD_TEMPLATES": str(templates)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scaffold", "update", str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    after = state(project)
    if after[0] == before[0]:  # interrupted: exactly the previous state
        assert after == before
        assert "trim_trailing_whitespace = false" not in (project / ".editorconfig").read_text()
    else:  # finished first: the complete merge, clean, no worktree left
        assert proc.returncode in (0, -signal.SIGTERM)
        assert after[2] == "" and after[4] == 1
        assert "trim_trailing_whitespace = false" in (project / ".editorconfig").read_text()
