"""What one update did, or would do: the flow fills it, the report and --json print it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import catalog
from scaffold.repository import shown
from scaffold.update.conflicts import Conflict
from scaffold.update.env_file import EnvEdit


@dataclass
class UpdateResult:
    status: str  # "up-to-date" | "merged" | "conflicts" | "dry-run" | "update-available"
    project: Path
    branch: str
    from_version: str
    to_version: str
    changed_answers: list[tuple[str, Any, Any]] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)  # met, or predicted (dry run, check)
    template_commit: str | None = None
    diff: str = ""
    interrupted: bool = False  # an interrupt arrived during the merge, which completed
    env_changes: list[catalog.EnvChange] = field(default_factory=list)  # what .env needs
    env_edits: list[EnvEdit] = field(default_factory=list)  # what the update did to .env
    env_followed: bool = False  # .env exists and was brought in line with the answers
    env_missing: bool = False  # the project has no .env at all
    notes: list[str] = field(default_factory=list)  # things the user must know

    @property
    def version_span(self) -> str:
        if self.from_version == self.to_version:
            return f"scaffold {self.to_version}"
        return f"scaffold {self.from_version} -> {self.to_version}"

    @property
    def update_available(self) -> bool:
        return self.status != "up-to-date"

    @property
    def files(self) -> list[str]:
        """Every path the template side changes (a rename names both)."""
        moved = [name for pair in self.renamed for name in pair]
        return sorted({*self.updated, *self.added, *self.removed, *moved})

    @property
    def conflict_paths(self) -> list[str]:
        return [conflict.path for conflict in self.conflicts]

    def as_dict(self) -> dict[str, Any]:
        body = {key: getattr(self, key) for key in self.__dataclass_fields__}
        body["project"] = shown(str(self.project))
        body["update_available"] = self.update_available
        body["files"] = [shown(name) for name in self.files]
        for key in ("updated", "added", "removed"):
            body[key] = [shown(name) for name in body[key]]
        body["changed_answers"] = [
            {"name": key, "old": old, "new": new} for key, old, new in self.changed_answers
        ]
        body["renamed"] = [[shown(old), shown(new)] for old, new in self.renamed]
        body["conflicts"] = [shown(path) for path in self.conflict_paths]
        body["conflict_details"] = [conflict.as_dict() for conflict in self.conflicts]
        body["diff"] = shown(self.diff)
        body["env_changes"] = [
            {"name": c.name, "old": c.old, "new": c.new, "secret": c.secret}
            for c in self.env_changes
        ]
        body["env_edits"] = [
            {"name": e.name, "action": e.action, "value": e.value, "was": e.was}
            for e in self.env_edits
        ]
        return body
