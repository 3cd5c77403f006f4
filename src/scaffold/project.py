"""A generated project as the flows find it: its memory (.scaffold.yml), its secrets (.env),
the preconditions every flow checks, and its answers resolved against the installed schema."""

from __future__ import annotations

import binascii
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaffold import catalog
from scaffold.errors import BadInput
from scaffold.questions import resolve_answers
from scaffold.repository import TEMPLATE_BRANCH, TEMPLATE_REF, git, git_out, shown

if TYPE_CHECKING:  # migrations are imported where used: `new` needs none of them
    from scaffold.migrations import Migration

RECORD_FILE = ".scaffold.yml"
RECORD_HEADER = "# Written by scaffold; `scaffold update` reads it. Change answers with --data.\n"
DISTRIBUTION = "scaffold-web"  # the PyPI name; `scaffold` there is an unrelated project
IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
}


def _not_yaml(path: Path | str, error: Exception) -> BadInput:
    return BadInput(
        f"{path} is not valid YAML ({type(error).__name__})",
        f"restore it with `git checkout -- {RECORD_FILE}`",
    )


@dataclass(frozen=True)
class Record:
    """What .scaffold.yml holds: no secrets, no machine paths."""

    scaffold_version: str
    framework: str
    layers: tuple[str, ...]
    answers: dict[str, Any]

    def to_yaml(self) -> str:
        body = {
            "scaffold_version": self.scaffold_version,
            "framework": self.framework,
            "layers": list(self.layers),
            "answers": dict(self.answers),
        }
        text = simple_yaml(body)
        if text is None:
            import yaml

            text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
        return RECORD_HEADER + text

    @classmethod
    def read(cls, project: Path) -> Record:
        path = project / RECORD_FILE
        if not path.is_file():
            raise BadInput(
                f"{project} is not a scaffold project (no {RECORD_FILE})",
                "run it inside a project made by `scaffold new`",
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise _not_yaml(path, error) from error
        return cls.from_text(text, path)

    @classmethod
    def from_text(cls, text: str, path: Path | str) -> Record:
        """The record in text (read from path, for the messages); BadInput when malformed."""
        # What to_yaml wrote needs no yaml to read back; hand edits, comments or quoting do.
        plain = text.startswith(RECORD_HEADER)
        body = simple_yaml_load(text.removeprefix(RECORD_HEADER)) if plain else None
        if body is None:
            import yaml

            try:
                body = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise _not_yaml(path, error) from error
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("answers"), dict)
            or not all(isinstance(body.get(key), str) for key in ("scaffold_version", "framework"))
        ):
            raise BadInput(
                f"{path} lacks scaffold_version, framework or answers",
                f"restore it with `git checkout -- {RECORD_FILE}`",
            )
        layers = body.get("layers") or []
        if not isinstance(layers, list) or not all(isinstance(name, str) for name in layers):
            raise BadInput(
                f"{path}: layers must be a list of layer names",
                f"restore it with `git checkout -- {RECORD_FILE}`",
            )
        return cls(body["scaffold_version"], body["framework"], tuple(layers), body["answers"])


# What `simple_yaml` writes unquoted: short ASCII text that YAML reads back as the same string.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.,@/+()'&-]*(?: [A-Za-z0-9_.,@/+()'&-]+)*")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){2,}")  # 0.1.0: no int, float or date reads it
_NUMBERS = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # 3.11: a float unquoted, so YAML quotes it
_INTEGER = re.compile(r"-?[0-9]+")
# YAML 1.1 words that read as booleans or null (PyYAML's resolver), in any capitalisation.
_RESERVED = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}


def _scalar(value: Any, room: int) -> str | None:
    """`value` exactly as yaml.safe_dump writes it in block style, or None when that takes
    more than this conservative subset (then the caller asks yaml). `room` is what is left of
    PyYAML's 80-column width, so no value can be folded onto a second line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or len(value) + 2 > room:
        return None
    if _VERSION.fullmatch(value) or (_PLAIN.fullmatch(value) and value.lower() not in _RESERVED):
        return value
    if _NUMBERS.fullmatch(value):
        return f"'{value}'"
    return None


def simple_yaml(body: Mapping[str, Any]) -> str | None:
    """yaml.safe_dump(body, sort_keys=False, allow_unicode=True), byte for byte, for a mapping
    of plain names to short plain strings, numbers, booleans, lists of them and one level of
    nested mappings; None for anything else. Saves `new` importing yaml (~15 ms);
    tests/test_record_yaml.py holds it to yaml's output."""
    if not body:
        return None
    lines = []
    for key, value in body.items():
        if _scalar(key, 80) != key:
            return None
        if isinstance(value, list | dict):
            if not value:
                return None
            lines.append(f"{key}:")
            # PyYAML does not indent a list under its key; a mapping's keys it does.
            pairs = value.items() if isinstance(value, dict) else (("-", item) for item in value)
            for name, item in pairs:
                if isinstance(value, list):
                    prefix = "- "
                elif isinstance(name, str) and _scalar(name, 80) == name:
                    prefix = f"  {name}: "
                else:
                    return None
                text = None if isinstance(item, list | dict) else _scalar(item, 80 - len(prefix))
                if text is None:
                    return None
                lines.append(prefix + text)
        else:
            text = _scalar(value, 80 - len(key) - 2)
            if text is None:
                return None
            lines.append(f"{key}: {text}")
    return "".join(f"{line}\n" for line in lines)


def _plain_value(text: str) -> Any:
    """A scalar as simple_yaml writes it, read back (simple_yaml_load checks the round trip)."""
    if text in ("true", "false"):
        return text == "true"
    if _INTEGER.fullmatch(text):
        return int(text)
    if len(text) > 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text


def simple_yaml_load(text: str) -> dict[str, Any] | None:
    """The mapping simple_yaml wrote as text, or None for any text it would not have written
    (then the caller asks yaml). The result is returned only if simple_yaml gives back exactly
    this text, and simple_yaml only writes what yaml.safe_load reads as that same mapping."""
    body: dict[str, Any] = {}
    last: str | None = None  # the key of the latest `key:` line, whose items follow
    for line in text.splitlines():
        items = body.get(last) if last is not None else None
        if last is not None and line.startswith("- "):
            items = body[last] = [] if items is None else items
            if not isinstance(items, list):
                return None
            items.append(_plain_value(line[2:]))
        elif last is not None and line.startswith("  ") and ": " in line:
            items = body[last] = {} if items is None else items
            if not isinstance(items, dict):
                return None
            key, _, value = line[2:].partition(": ")
            items[key] = _plain_value(value)
        elif line.endswith(":") and " " not in line:
            last = line[:-1]
            body[last] = None
        elif ": " in line and not line.startswith((" ", "-")):
            key, _, value = line.partition(": ")
            body[key] = _plain_value(value)
            last = None
        else:
            return None
    return body if simple_yaml(body) == text else None


_URL_SAFE = str.maketrans("+/", "-_")


def new_secret() -> str:
    """secrets.token_urlsafe(48) without importing secrets (and, through hmac, OpenSSL) or
    base64: 48 bytes from os.urandom in URL-safe base64 (64 characters, no padding)."""
    encoded = binascii.b2a_base64(os.urandom(48), newline=False).decode("ascii")
    return encoded.rstrip("=").translate(_URL_SAFE)


def render_env_file(env_vars: list[dict[str, Any]]) -> str:
    """The untracked .env: every variable from .env.example, with secrets generated."""
    lines = ["# Local settings and secrets. Never commit this file.\n"]
    for var in env_vars:
        value = new_secret() if var["secret"] else var["example"]
        lines.append(f"# {var['help']}\n{var['name']}={value}\n")
    return "".join(lines)


def installed_version() -> str:
    import scaffold

    return scaffold.__version__


def resolve_project_answers(
    record: Record,
    overrides: Mapping[str, Any],
    installed: str,
    migrations: Iterable[Migration] | None = None,
) -> dict[str, Any]:
    """Stored answers, migrated to the installed schema, with --data on top, validated like new."""
    framework = catalog.get(record.framework)
    from scaffold.migrations import MIGRATIONS, migrate_answers

    migrations = MIGRATIONS if migrations is None else migrations
    stored = migrate_answers(record.answers, record.scaffold_version, installed, migrations)
    return resolve_answers(framework.questions, {**stored, **overrides})


@dataclass(frozen=True)
class ProjectState:
    """A project that passed every precondition: clean, on a branch, with a readable record."""

    path: Path
    branch: str
    head: str
    record: Record
    template_ref: str | None  # refs/heads/scaffold/template, or a remote's copy in a fresh clone
    template_tip: str | None
    local_tip: str | None = None  # the local branch's tip, when there is one
    diverged_from: str | None = None  # a remote's copy the local branch has diverged from


def find_template(path: Path) -> tuple[str | None, str | None, str | None, str | None]:
    """The template branch to update from: (ref, tip, local tip, diverged remote).

    The local branch, unless a single remote's copy is ahead of it (a teammate pushed an
    update: its tip then descends from the local one); none, or a remote's copy in a clone."""
    refs = (
        git_out(
            path, "for-each-ref", "--format=%(refname) %(objectname)", TEMPLATE_REF, "refs/remotes/"
        )
        or ""
    )
    found = dict(line.split() for line in refs.splitlines())
    remote = [
        (ref, tip)
        for ref, tip in found.items()
        if ref.startswith("refs/remotes/") and ref.endswith(f"/{TEMPLATE_BRANCH}")
    ]
    local = found.get(TEMPLATE_REF)
    if local is None:
        return (*remote[0], None, None) if len(remote) == 1 else (None, None, None, None)
    if len(remote) != 1 or remote[0][1] == local:
        return TEMPLATE_REF, local, local, None
    theirs, their_tip = remote[0]
    if _is_ancestor(path, local, their_tip):
        return theirs, their_tip, local, None
    if _is_ancestor(path, their_tip, local):
        return TEMPLATE_REF, local, local, None  # an update not pushed yet
    return TEMPLATE_REF, local, local, theirs


def _is_ancestor(path: Path, older: str, newer: str) -> bool:
    return git(path, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def inspect_project(
    project: Path, command: str = "update", read_only: bool = False
) -> ProjectState:
    """Check every precondition; refuse with one line (BadInput) before anything changes.
    read_only (a check, which compares commits and writes nothing) takes a detached HEAD, work
    in progress and uncommitted changes as they are."""
    path = Path(os.path.abspath(project))
    if not path.is_dir():
        raise BadInput(f"{path} is not a directory", "pass the project's directory")
    where = ("--show-toplevel", *[arg for name in IN_PROGRESS for arg in ("--git-path", name)])
    # One git call for the usual case: the top, the markers, HEAD's commit and its branch. An
    # unborn or detached HEAD fails it or names no branch; the steps below then say which.
    quick = git_out(path, "rev-parse", *where, "HEAD", "--symbolic-full-name", "HEAD")
    lines = (quick or "").splitlines()
    known = len(lines) == 1 + len(IN_PROGRESS) + 2 and lines[-1].startswith("refs/heads/")
    head_commit, head_ref = lines[-2:] if known else ("", "")
    listed = "\n".join(lines[:-2]) if known else git_out(path, "rev-parse", *where)
    if listed is None:
        if git_out(path, "rev-parse", "--is-bare-repository") == "true":
            raise BadInput(
                f"{path} is a bare repository, which has no working tree to update",
                "run scaffold in a clone of it",
            )
        raise BadInput(
            f"{path} is not a git repository",
            "commit the project with `git init && git add -A && git commit`, "
            "then run `scaffold adopt`",
        )
    top, *markers = listed.splitlines()
    for name, marker in zip(IN_PROGRESS, markers, strict=True):
        # --git-path answers relative to where git ran
        if (path / marker).exists() and not read_only:
            raise BadInput(
                f"{path} has {IN_PROGRESS[name]} in progress",
                "finish it (resolve and commit) or abort it first",
            )
    if Path(top).resolve() != path.resolve():
        if (path / RECORD_FILE).exists():
            raise BadInput(
                f"{path} is not the top of its git repository ({top})",
                f"scaffold {command} needs the project to be its own repository",
            )
        path = Path(top)
    ref = head_ref if known else git_out(path, "symbolic-ref", "--quiet", "HEAD")
    if ref is None and read_only:
        ref = "HEAD"  # detached, as CI checkouts often are
    if ref is None:
        raise BadInput(
            f"{path} is on a detached HEAD", "check out your branch first, e.g. git switch main"
        )
    head = head_commit if known else git_out(path, "rev-parse", "--verify", "--quiet", "HEAD")
    if head is None:
        raise BadInput(f"{path} has no commits yet", "commit the project first")
    if ref == TEMPLATE_REF:
        raise BadInput(
            f"{path} is on {TEMPLATE_BRANCH}, which scaffold manages",
            "switch to your own branch first: git switch main",
        )
    status = "" if read_only else git(path, "status", "--porcelain", "-z", "-uall").stdout
    dirty = [entry[3:] for entry in status.split("\0") if entry[2:3] == " "]
    if dirty:
        more = f" and {len(dirty) - 1} more" if len(dirty) > 1 else ""
        raise BadInput(
            f"{path} has uncommitted changes ({shown(dirty[0])}{more})",
            f"commit or stash them, then rerun scaffold {command}",
        )
    record = Record.read(path)
    catalog.get(record.framework)
    installed = installed_version()
    from scaffold.migrations import version_key

    if version_key(record.scaffold_version) > version_key(installed):
        raise BadInput(
            f"{RECORD_FILE} records scaffold {record.scaffold_version}, newer than "
            f"the installed {installed}",
            f"upgrade scaffold first: pip install -U {DISTRIBUTION}",
        )
    template_ref, tip, local_tip, diverged = find_template(path)
    return ProjectState(
        path,
        ref.removeprefix("refs/heads/"),
        head,
        record,
        template_ref,
        tip,
        local_tip,
        diverged,
    )
