"""What a check run reports: one result per stage, the whole report, and the progress callbacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold.errors import OperationFailed

STAGES = ("venv", "install", "tests", "checks", "server", "nginx", "shutdown")


@dataclass
class StageResult:
    name: str
    status: str = "skipped"  # passed | failed | skipped
    seconds: float = 0.0
    message: str = ""
    log: list[str] = field(default_factory=list)  # last lines of the stage's log, on failure

    def as_dict(self) -> dict[str, Any]:
        row = {
            "name": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }
        return {**row, "log": self.log} if self.log else row


@dataclass
class CheckReport:
    project: Path
    framework: str
    stages: list[StageResult]
    kept: Path | None = None  # the work directory, when --keep
    seconds: float = 0.0  # wall time; less than the stages' sum, as the tests run alongside
    # --systemd: the rehearsal machine (release, python; with --keep how to enter and stop it)
    machine: dict[str, Any] | None = None

    @property
    def failed(self) -> StageResult | None:
        return next((stage for stage in self.stages if stage.status == "failed"), None)

    def to_json(self) -> str:
        failed = self.failed
        return json.dumps(
            {
                "project": str(self.project),
                "framework": self.framework,
                "passed": failed is None,
                "failed_stage": failed.name if failed else None,
                "seconds": round(self.seconds, 3),
                "kept": str(self.kept) if self.kept else None,
                **({"machine": self.machine} if self.machine is not None else {}),
                "stages": [stage.as_dict() for stage in self.stages],
            },
            indent=2,
        )

    def summary(self) -> str:
        seconds = self.seconds
        kept = f"; kept {self.kept}" if self.kept else ""
        if self.machine is not None:
            return self._rehearsal_summary()
        if failed := self.failed:
            return f"check failed at stage {failed.name} after {seconds:.1f}s{kept}"
        behind = "" if self.stages[STAGES.index("nginx")].status == "skipped" else " behind nginx"
        return f"check passed: {self.project.name} boots{behind}, {seconds:.1f}s{kept}"

    def _rehearsal_summary(self) -> str:
        assert self.machine is not None
        where = f"rehearsal on Debian {self.machine['release']}"
        if failed := self.failed:
            line = f"{where} failed at stage {failed.name} after {self.seconds:.1f}s"
        else:
            hosts = self.machine.get("app_hosts")
            where_to = f"on {hosts} app machines behind one nginx" if hosts else "behind nginx"
            line = (
                f"{where} passed: {self.project.name} deploys under systemd {where_to}, "
                f"{self.seconds:.1f}s"
            )
        if "enter" in self.machine:
            line += (
                f"\nthe machine is still running: enter it with `{self.machine['enter']}`, "
                f"stop and remove it with `{self.machine['stop']}`"
            )
        return line


@dataclass
class Progress:
    """Callbacks the CLI passes to show what is happening; all optional."""

    started: Callable[[str], None] = lambda name: None
    finished: Callable[[StageResult], None] = lambda result: None
    output: Callable[[str], None] = lambda line: None  # install progress lines
    milestone: Callable[[str], None] = lambda what: None  # e.g. the first 200 through nginx


class StageFailed(Exception):
    """A stage found the project wanting; `log` is the log whose tail shows why."""

    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.log = log


def result_lines(result: StageResult) -> list[str]:
    """One line per stage, then the tail of its log when it failed."""
    mark = {"passed": "ok", "failed": "FAIL", "skipped": "skip"}[result.status]
    lines = [f"  {mark:<5} {result.name:<9} {result.seconds:6.2f}s  {result.message}".rstrip()]
    return lines + [f"        | {line}" for line in result.log]


def failure(report: CheckReport) -> OperationFailed | None:
    """The error the CLI raises (exit 1) when a stage failed."""
    failed = report.failed
    if failed is None:
        return None
    hint = (
        "rerun with --keep to inspect the logs"
        if report.kept is None
        else (f"logs are in {report.kept / 'logs'}")
    )
    return OperationFailed(f"stage {failed.name} failed: {failed.message}", hint)
