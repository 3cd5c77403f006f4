"""A fresh virtual environment for a project: uv when present (shared cache), else venv + pip."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from scaffold.subprocesses import run_logged

VENV_TIMEOUT = 120
INSTALL_TIMEOUT = 600
# Variables that would point the project's tools at another environment than the fresh one.
_FOREIGN_ENV = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "CONDA_PREFIX",
    "PIP_REQUIRE_VIRTUALENV",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
)
_FOREIGN_PREFIXES = ("PYTEST_XDIST_", "COV_CORE_", "PYTEST_CURRENT_TEST")


def find_uv() -> str | None:
    """uv on PATH, or the one installed next to scaffold's own interpreter."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.is_file() else None)


class ProjectVenv:
    """A virtual environment at `path` for the project at `project`."""

    def __init__(self, path: Path, project: Path, uv: str | None) -> None:
        self.path = path
        self.project = project
        self.uv = uv
        # Set for every program run in this venv, over the caller's environment (a check's
        # throwaway DATABASE_URL).
        self.pinned: dict[str, str] = {}

    @property
    def tool(self) -> str:
        return "uv" if self.uv else "venv + pip"

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The caller's environment, cleaned of other environments, with this venv first on PATH."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in _FOREIGN_ENV and not key.startswith(_FOREIGN_PREFIXES)
        }
        env["VIRTUAL_ENV"] = str(self.path)
        env["PATH"] = f"{self.path / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
        env.update(self.pinned)
        env.update(extra or {})
        return env

    def create(self, log: Path, on_line: Callable[[str], None] | None = None) -> None:
        if self.uv:
            command = [self.uv, "venv", "--quiet", "--python", sys.executable, str(self.path)]
        else:
            command = [sys.executable, "-m", "venv", str(self.path)]
        run_logged(
            command,
            cwd=self.project,
            env=self.env(),
            log=log,
            timeout=VENV_TIMEOUT,
            on_line=on_line,
            label=f"{'uv venv' if self.uv else 'python -m venv'}",
        )

    def install_project(self, log: Path, on_line: Callable[[str], None] | None = None) -> None:
        """`pip install -e '.[dev]'`; uv reuses its shared wheel cache across projects. Both
        compile bytecode (pip does by default, uv when asked), so workers boot as on a server
        instead of compiling SQLAlchemy or Django on their first import."""
        if self.uv:
            command = [self.uv, "pip", "install", "--compile-bytecode"]
            command += ["--python", str(self.python), "-e", ".[dev]"]
        else:
            command = [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--progress-bar",
                "off",
                "--disable-pip-version-check",
                "-e",
                ".[dev]",
            ]
        run_logged(
            command,
            cwd=self.project,
            env=self.env(),
            log=log,
            timeout=INSTALL_TIMEOUT,
            on_line=on_line,
            label=f"{'uv pip' if self.uv else 'pip'} install -e '.[dev]'",
        )
