"""Several projects in one call: each all-or-nothing, one outcome each, the worst exit code."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.errors import (
    EXIT_CONFLICTS,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UPDATE_AVAILABLE,
    EXIT_USAGE,
    ScaffoldError,
)
from scaffold.repository import shown
from scaffold.update.flow import update_project
from scaffold.update.result import UpdateResult

# Worst last: a failure outranks bad input, which outranks conflicts, then an available update.
SEVERITY = (
    EXIT_OK,
    EXIT_UPDATE_AVAILABLE,
    EXIT_CONFLICTS,
    EXIT_USAGE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
)


@dataclass(frozen=True)
class Outcome:
    project: Path
    result: UpdateResult | None
    error: ScaffoldError | None = None
    checking: bool = False
    stopped: str | None = None  # "interrupted" (as before) or "not started"

    @property
    def exit_code(self) -> int:
        if self.stopped is not None:
            return EXIT_INTERRUPTED
        if self.error is not None:
            return self.error.exit_code
        assert self.result is not None
        if self.result.conflicts and self.result.status in ("conflicts", "dry-run"):
            return EXIT_CONFLICTS
        if self.checking and self.result.update_available:
            return EXIT_UPDATE_AVAILABLE
        return EXIT_OK

    @property
    def summary(self) -> str:
        if self.stopped is not None:
            return self.stopped
        if self.error is not None:
            return f"error: {self.error.message}"
        assert self.result is not None
        return self.result.status

    def as_dict(self) -> dict[str, Any]:
        if self.result is not None:
            return {**self.result.as_dict(), "exit_code": self.exit_code}
        return {
            "project": shown(os.path.abspath(self.project)),
            "error": self.stopped or str(self.error),
            "exit_code": self.exit_code,
            "update_available": None,
            "files": [],
            "conflicts": [],
        }


def distinct(projects: Iterable[Path]) -> list[Path]:
    """Each project once, however it was named (a path given twice would be updated twice)."""
    seen: dict[str, Path] = {}
    for project in projects:
        seen.setdefault(os.path.realpath(project), project)
    return list(seen.values())


def update_many(
    projects: Iterable[Path],
    overrides: Mapping[str, Any],
    dry_run: bool = False,
    check: bool = False,
    overwrite_ignored: bool = False,
) -> Iterator[Outcome]:
    """Update (or check) each project in turn; a refusal or failure is that project's outcome.
    An interrupt stops the run: the project it hit is as before, the earlier ones are done."""
    for project in projects:
        try:
            result = update_project(
                project, overrides, dry_run, check=check, overwrite_ignored=overwrite_ignored
            )
        except ScaffoldError as error:
            yield Outcome(project, None, error, check)
        else:
            yield Outcome(project, result, None, check)


def interrupted(projects: list[Path], done: list[Outcome]) -> list[Outcome]:
    """The outcomes of the projects an interrupt stopped: the one it hit, then the rest."""
    rest = projects[len(done) :]
    return [Outcome(rest[0], None, stopped="interrupted, as before")] + [
        Outcome(path, None, stopped="not started") for path in rest[1:]
    ]


def stopped_line(done: list[Outcome], stopped: list[Outcome]) -> str:
    return (
        f"interrupted during {stopped[0].project}, which is as before; "
        f"{len(done)} project(s) done, {len(stopped) - 1} not started"
    )


def worst(codes: Iterable[int]) -> int:
    return max(codes, key=SEVERITY.index, default=EXIT_OK)
