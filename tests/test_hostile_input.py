"""Issue 12: hostile input through a real process: the installed entry point, raw argv bytes and
no terminal. Each run asserts one line on stderr, no traceback, and a byte-identical tree (git
state included).

The table of refusals is tests/test_refusals.py (in-process); SIGTERM is tested in test_new.py
and test_update_signals.py.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers import SCAFFOLD, fingerprint, run
from tests.test_refusals import REFUSALS, settle_index


def assert_one_line_refusal(
    result: subprocess.CompletedProcess[str], exit_code: int, message: str
) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result.stdout  # errors go to stderr, nothing else is printed
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scaffold: error: "), result.stderr
    assert message in lines[0], result.stderr
    assert result.returncode == exit_code, result.stderr


def test_the_entry_point_refuses_in_one_line_on_stderr(tmp_path: Path) -> None:
    """One row of the refusal table through `python -m scaffold`: exit code, stderr, git."""
    case = next(case for case in REFUSALS if case.name == "update modified file")
    at = case.state(tmp_path)
    settle_index(tmp_path)
    before = fingerprint(tmp_path)
    result = run([*SCAFFOLD, *[arg.replace("{at}", str(at)) for arg in case.argv]])
    assert_one_line_refusal(result, case.exit_code, case.message)
    assert fingerprint(tmp_path) == before


def test_an_argument_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """argv bytes that decode to no text (only a real process can be given them)."""
    args = [*SCAFFOLD, "new", f"{tmp_path}/dest", "-f", "flask", "--defaults"]
    result = subprocess.run(
        [os.fsencode(arg) for arg in args] + [b"--data", b"project_name=caf\xff"],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
    )
    assert list(tmp_path.iterdir()) == []
    assert_one_line_refusal(result, 2, "project_name")


def test_new_without_a_terminal_asks_nothing_and_needs_a_framework(tmp_path: Path) -> None:
    """stdin and stdout are no terminal, so `new` may not prompt for the framework."""
    result = subprocess.run(
        [*SCAFFOLD, "new", str(tmp_path / "dest")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line_refusal(result, 2, "--framework is required when not interactive")
    assert list(tmp_path.iterdir()) == []
