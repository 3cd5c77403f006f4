"""Shared fixtures: run the CLI in-process, generate projects, install them into venvs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scaffold import catalog
from scaffold.cli import main
from scaffold.venv import find_uv

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"

# The suite runs as on a machine with no git configuration: no identity (new takes the author
# from git's user.name/email when set) and no ignore rules. Tests that need some set their own.
os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
os.environ["GIT_CONFIG_NOSYSTEM"] = "1"


def available_frameworks() -> list[str]:
    """Catalog frameworks whose template folder exists: new ones join the tests by themselves."""
    return [name for name in catalog.names() if (TEMPLATES / name / "copier.yml").is_file()]


def run_cli(*args: str, cwd: Path | None = None) -> Result:
    runner = CliRunner()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def generate(dest: Path, framework: str, *data: str) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    args = ["new", str(dest), "--framework", framework, "--defaults"]
    for pair in data:
        args += ["--data", pair]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    return dest


def git_out(project: Path, *args: str) -> str:
    """Run git in project; its stdout, stripped. Fails the test if git fails."""
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (but .git), as bytes: to prove nothing changed or two trees match."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


UV = find_uv() or "uv"


def make_venv(project: Path) -> Path:
    """A fresh venv with the project installed editable with its dev extra; returns its python."""
    venv = project / ".venv"
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--python", str(python), "-e", ".[dev]"],
        cwd=project,
        check=True,
        timeout=600,
    )
    return python


@pytest.fixture
def cli():
    return run_cli


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
