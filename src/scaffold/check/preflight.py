"""Before a check starts: is this a project we can check, on a machine that can check it?

Reads the project's answers exactly as `scaffold update` does (validated and migrated), so a
hand-broken `.scaffold.yml` is refused with the same line. Creates nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import catalog
from scaffold.errors import BadInput, SystemRefused
from scaffold.project import RECORD_FILE, Record, installed_version, resolve_project_answers

NGINX_SEARCH_PATH = "/usr/sbin:/sbin:/usr/local/sbin"


@dataclass(frozen=True)
class Target:
    """A project that can be checked here: where it is, its framework and its answers."""

    project: Path
    framework: catalog.Framework
    answers: dict[str, Any]
    nginx: str | None  # the nginx program; None with --no-nginx

    @property
    def package(self) -> str:
        return str(self.answers["package"])

    @property
    def domain(self) -> str:
        return str(self.answers["domain"])


def find_nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path=NGINX_SEARCH_PATH)


def preflight(project: Path, nginx: bool) -> Target:
    """The project and machine, checked; BadInput (or SystemRefused) before anything exists."""
    path = Path(os.path.realpath(project))
    try:
        return _inspect(project, path, nginx)
    except OSError as error:
        raise SystemRefused.from_os_error(error, f"read the project {path}") from error


def _inspect(given: Path, path: Path, nginx: bool) -> Target:
    if not path.is_dir():
        raise BadInput(f"{given} is not a directory", "pass the path of a generated project")
    # An unreadable record is not a missing one; is_file() hides that on Python 3.14+.
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        (path / RECORD_FILE).stat()
    record = Record.read(path)
    framework = catalog.get(record.framework)
    answers = resolve_project_answers(record, {}, installed_version())
    if not (path / "pyproject.toml").is_file():
        raise BadInput(f"{path} has no pyproject.toml", "restore it from git")
    found = find_nginx() if nginx else None
    if nginx and found is None:
        raise BadInput(
            "nginx is not installed",
            "install it (sudo apt-get install nginx) or pass --no-nginx",
        )
    if nginx and shutil.which("openssl") is None:  # for the throwaway TLS certificate
        raise BadInput(
            "openssl is not installed",
            "install it (sudo apt-get install openssl) or pass --no-nginx",
        )
    return Target(path, framework, answers, found)
