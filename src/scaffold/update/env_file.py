"""The untracked .env after a merge: values that follow answers move with them; secrets never.

A value is changed only where it still is what the old answers made, so a value the user set
stays. A new variable is added (a new secret is generated); a variable the project no longer
reads is left for the user to remove. Lines are read as the project's own loader reads them
(deploy/gunicorn.conf.py: `export `, spaces around `=`, quotes), every assignment of a name is
changed (loaders differ on which one wins), and each line keeps its own form and line ending.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from scaffold import catalog
from scaffold.project import new_secret

ENV_FILE = ".env"
_ASSIGNMENT = re.compile(
    r"(?P<lead>[ \t]*(?:export[ \t]+)?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?P<equals>[ \t]*=[ \t]*)(?P<rest>.*?)(?P<end>\r?\n|)"
)


class NotEditable(Exception):
    """.env is there but must not be rewritten; the message says why."""


@dataclass(frozen=True)
class EnvEdit:
    name: str
    action: str  # "set", "added", "kept" (the user's value differs), "unused"
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
        return f"  .env: {self.name} is no longer read; remove it when you like"


@dataclass
class _Line:
    text: str
    name: str | None = None
    value: str = ""

    @classmethod
    def parse(cls, text: str) -> _Line:
        match = _ASSIGNMENT.fullmatch(text)
        if match is None:
            return cls(text)
        return cls(text, match["name"], _unquoted(match["rest"].strip()))

    def with_value(self, value: str) -> str:
        match = _ASSIGNMENT.fullmatch(self.text)
        assert match is not None
        rest = match["rest"].strip()
        quote = rest[0] if len(rest) >= 2 and rest[0] == rest[-1] and rest[0] in "'\"" else ""
        return f"{match['lead']}{match['name']}{match['equals']}{quote}{value}{quote}{match['end']}"


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def follow_answers(
    project: Path, framework: catalog.Framework, changes: list[catalog.EnvChange]
) -> list[EnvEdit]:
    """Apply `changes` to project/.env; what was done, per variable. Raises OSError when the
    file cannot be read or replaced (nothing is half-written), NotEditable when it must not be
    rewritten."""
    path = project / ENV_FILE
    if not changes or not path.is_file():
        return []
    real = path.resolve()  # a symlinked .env stays a symlink: its target is rewritten
    if real.stat().st_nlink > 1:
        raise NotEditable(f"{path} has other hard links, which a rewrite would part from it")
    text = real.read_bytes().decode("utf-8", "surrogateescape")  # line endings as they are
    lines = [_Line.parse(line) for line in text.splitlines(keepends=True)]
    newline = "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"
    helps = {var.name: var.help for var in framework.env + catalog.DEPLOY_ENV}
    edits = []
    for change in changes:
        found = [line for line in lines if line.name == change.name]
        if change.new is None:
            edits += [EnvEdit(change.name, "unused")] if found else []
            continue
        if not found:
            value = new_secret() if change.secret else change.new
            if lines and not lines[-1].text.endswith("\n"):
                lines[-1].text += newline
            lines.append(_Line(f"# {helps.get(change.name, change.name)}{newline}"))
            lines.append(_Line(f"{change.name}={value}{newline}", change.name, value))
            edits.append(EnvEdit(change.name, "added", None if change.secret else value))
            continue
        if change.secret:
            continue  # a secret is the user's
        moved = [line for line in found if line.value == change.old]
        for line in moved:
            line.text, line.value = line.with_value(change.new), change.new
        if moved:
            edits.append(EnvEdit(change.name, "set", change.new, change.old))
        mine = next((line.value for line in found if line.value != change.new), None)
        if mine is not None:
            edits.append(EnvEdit(change.name, "kept", change.new, mine))
    if any(edit.action in ("set", "added") for edit in edits):
        _replace(real, "".join(line.text for line in lines))
    return edits


def _replace(path: Path, text: str) -> None:
    """Write beside the file, then rename over it, with its mode, owner and group: a full
    disk leaves the old .env whole, and the service user can still read the new one."""
    temporary = path.with_name(f"{path.name}.scaffold-new")
    info = path.stat()
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(
            descriptor, "w", encoding="utf-8", errors="surrogateescape", newline=""
        ) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            os.chown(temporary, info.st_uid, info.st_gid)
        os.chmod(temporary, info.st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
