"""Fixtures and the run-wide settings; the plain functions they use live in tests/helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Plain functions live in tests/helpers.py; these names are imported from here by older tests.
from tests.helpers import (
    REPO,
    TEMPLATES,
    UV,
    available_frameworks,
    copy_templates,
    generate,
    git,
    make_venv,
    run_cli,
    tree_snapshot,
)

__all__ = [
    "REPO",
    "TEMPLATES",
    "UV",
    "available_frameworks",
    "generate",
    "git",
    "git_out",
    "make_venv",
    "run_cli",
    "tree_snapshot",
]
git_out = git

# The suite runs as on a machine with no git configuration: no identity (new takes the author
# from git's user.name/email when set) and no ignore rules. Tests that need some set their own.
os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
os.environ["GIT_CONFIG_NOSYSTEM"] = "1"


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of templates/ that scaffold renders from in this test (SCAFFOLD_TEMPLATES)."""
    monkeypatch.setenv("SCAFFOLD_TEMPLATES", str(tmp_path / "templates"))
    return copy_templates(tmp_path / "templates")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the template matrix as combination x check -> status and seconds."""
    rows: dict[str, dict[str, str]] = {}
    for status in ("passed", "failed"):
        for report in terminalreporter.stats.get(status, []):
            if report.when != "call":
                continue
            checks = {
                k[len("matrix:") :]: v for k, v in report.user_properties if k.startswith("matrix:")
            }
            if checks:
                kind = "boot" if "test_boot_matrix" in report.nodeid else "render"
                combo = report.nodeid.split("[", 1)[-1].rstrip("]")
                rows[f"{kind} {combo}"] = checks | {"total": f"{report.duration:.1f}s"}
    if not rows:
        return
    terminalreporter.section("template matrix")
    for name, checks in sorted(rows.items()):
        cells = "  ".join(f"{check}={value.replace(' ', ':')}" for check, value in checks.items())
        terminalreporter.write_line(f"{name:<48} {cells}")
