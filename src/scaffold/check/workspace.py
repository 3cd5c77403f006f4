"""Where a check run works: a temporary directory under $TMPDIR (venv, logs, sockets, nginx
prefix), the things to stop when the run ends, and what every stage reads."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from scaffold.check.preflight import Target
from scaffold.check.report import Progress
from scaffold.errors import SystemRefused
from scaffold.venv import ProjectVenv

WORK_PREFIX = "scaffold-check-"
SOCKET_ROOM = 60  # longest work root that keeps our unix socket paths under 108 bytes


def work_root() -> Path:
    """$TMPDIR as the user gave it, so a full, read-only or missing one is reported rather than
    quietly replaced (as tempfile would); /tmp when it is so deep that our unix socket paths
    would pass the kernel's limit, which nginx and gunicorn refuse."""
    root = os.path.abspath(os.environ.get("TMPDIR") or tempfile.gettempdir())
    return Path(root if len(root) <= SOCKET_ROOM else "/tmp")


class Workspace:
    """The run's temporary directory; `close` stops what was started in it and removes it
    (unless kept). A context manager: Ctrl-C and errors close it too."""

    def __init__(self, root: Path, keep: bool) -> None:
        try:
            self.path = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=root))
        except OSError as error:
            where = OSError(error.errno, error.strerror, str(root))  # not the random name
            raise SystemRefused.from_os_error(
                where, "create the check's work directory in TMPDIR"
            ) from error
        self.root = root
        self.keep = keep
        self.logs = self.path / "logs"
        self._stops: list[Callable[[], None]] = []

    def log(self, stage: str) -> Path:
        return self.logs / f"{stage}.log"

    def on_close(self, stop: Callable[[], None]) -> None:
        """Call stop (kill a process, close a socket) when the run ends, last registered first."""
        self._stops.append(stop)

    def close(self) -> None:
        while self._stops:
            self._stops.pop()()
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)

    def refused(self, error: OSError, stage: str) -> SystemRefused:
        """The one-line error for an OS error in a stage, naming TMPDIR when it hit our files."""
        name = error.filename
        text = os.fsdecode(name) if isinstance(name, str | bytes) else None
        if text is None or Path(text).is_relative_to(self.path):
            ours = OSError(error.errno, error.strerror, str(self.root))
            return SystemRefused.from_os_error(
                ours, f"run the {stage} stage in the work directory under TMPDIR"
            )
        return SystemRefused.from_os_error(error, f"run the {stage} stage")

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of the project's .env (comments and blanks skipped, quotes stripped)."""
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and key and not key.startswith("#"):
                values[key.strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class CheckContext:
    """What every stage reads: the project, the work directory, the fresh venv, progress."""

    target: Target
    workspace: Workspace
    venv: ProjectVenv
    progress: Progress

    @property
    def project(self) -> Path:
        return self.target.project

    def log(self, stage: str) -> Path:
        return self.workspace.log(stage)

    def production_env(self) -> dict[str, str]:
        framework, answers = self.target.framework, self.target.answers
        return {key: framework.fill(value, answers) for key, value in framework.production_env}

    def command_env(self) -> dict[str, str]:
        """For framework checks and prepare steps: production settings plus the project's .env,
        as a systemd unit with EnvironmentFile= would see them (the caller's values win)."""
        env = self.venv.env(self.production_env())
        for key, value in read_dotenv(self.project / ".env").items():
            env.setdefault(key, value)
        return env

    def venv_command(self, command: tuple[str, ...]) -> list[str]:
        """Run catalog commands with the fresh venv's programs ("python" included)."""
        program = self.venv.bin(command[0])
        return [str(program) if program.exists() else command[0], *command[1:]]
