"""The untracked .env after a merge: values that follow answers move with them; secrets never.

A value is changed only where it still is what the old answers made, so a value the user set
stays. A new variable is added (a new secret is generated); a variable the project no longer
reads is left for the user to remove.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from scaffold import catalog
from scaffold.project import new_secret

ENV_FILE = ".env"
_ASSIGNMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)")


@dataclass(frozen=True)
class EnvEdit:
    name: str
    action: str  # "set", "added", "kept" (the user's value differs), "unused", "by hand"
    value: str | None = None  # what it is now (never a secret's value)
    was: str | None = None

    def line(self) -> str:
        if self.action == "set":
            return f"  .env: set {self.name}={self.value} (was {self.was})"
        if self.action == "added":
            return f"  .env: added {self.name}" + ("" if self.value is None else f"={self.value}")
        if self.action == "kept":
            return (
                f"  .env: kept your {self.name}={self.was}; the new answers give {self.value}, "
                "change it by hand if you want that"
            )
        if self.action == "unused":
            return f"  .env: {self.name} is no longer read; remove it when you like"
        return f"  .env: {self.name}: {self.value}"


def _values(lines: list[str]) -> dict[str, int]:
    """The line number of each variable's first assignment."""
    found: dict[str, int] = {}
    for number, line in enumerate(lines):
        match = _ASSIGNMENT.fullmatch(line.rstrip("\n"))
        if match and match["name"] not in found:
            found[match["name"]] = number
    return found


def follow_answers(
    project: Path, framework: catalog.Framework, changes: list[catalog.EnvChange]
) -> list[EnvEdit]:
    """Apply `changes` to project/.env (atomically, keeping its mode); what was done, per
    variable. Raises OSError when the file cannot be read or replaced; nothing is half-written."""
    path = project / ENV_FILE
    if not changes or not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    lines = text.splitlines(keepends=True)
    where = _values(lines)
    helps = {var.name: var.help for var in framework.env + catalog.DEPLOY_ENV}
    edits = []
    for change in changes:
        number = where.get(change.name)
        current = None
        if number is not None:
            current = _ASSIGNMENT.fullmatch(lines[number].rstrip("\n"))["value"]  # type: ignore[index]
        if change.new is None:
            if number is not None:
                edits.append(EnvEdit(change.name, "unused"))
        elif number is None:
            value = new_secret() if change.secret else change.new
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines.append(f"# {helps.get(change.name, change.name)}\n{change.name}={value}\n")
            edits.append(EnvEdit(change.name, "added", None if change.secret else value))
        elif change.secret or current == change.new:
            continue  # a secret is the user's; an equal value needs nothing
        elif current == change.old:
            lines[number] = f"{change.name}={change.new}\n"
            edits.append(EnvEdit(change.name, "set", change.new, change.old))
        else:
            edits.append(EnvEdit(change.name, "kept", change.new, current))
    if any(edit.action in ("set", "added") for edit in edits):
        _replace(path, "".join(lines))
    return edits


def _replace(path: Path, text: str) -> None:
    """Write beside the file, then rename over it: a full disk leaves the old .env whole."""
    temporary = path.with_name(f"{path.name}.scaffold-new")
    mode = path.stat().st_mode & 0o7777
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
