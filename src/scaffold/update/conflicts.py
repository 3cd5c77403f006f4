"""Conflicts by kind, from a real merge or predicted by `git merge-tree --write-tree`.

A content conflict has markers to edit; a binary, modify/delete or rename conflict has none,
so each kind gets its own next step. git's CONFLICT lines are kept and shown as git wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scaffold.repository import git, shown

# The next step for each kind; {path} is the unmerged path, shown.
STEPS = {
    "content": "edit the <<<<<<< ======= >>>>>>> markers in {path}, then `git add {path}`",
    "binary": (
        "a binary file has no markers: keep yours with `git checkout --ours -- {path}` or the "
        "template's with `git checkout --theirs -- {path}`, then `git add {path}`"
    ),
    "modify/delete": (
        "one side deleted {path} and the other changed it (no markers): keep it with "
        "`git add {path}`, or delete it with `git rm {path}`"
    ),
    "rename": (
        "one side renamed the file and the other changed or deleted it (no markers): keep "
        "{path} with `git add {path}`, or drop it with `git rm {path}`"
    ),
    "location": (
        "git moved the file with its renamed directory, to {path} (no markers): keep it "
        "there with `git add {path}`, or move it with `git mv` and add that"
    ),
    "file/directory": (
        "a file and a directory want the same name; git set one aside as {path} (no "
        "markers): keep what you need, `git rm` or `git mv` the rest, then `git add` it"
    ),
    "type": (
        "{path} is a different kind of file on each side, e.g. a symlink and a file (no "
        "markers): keep yours with `git checkout --ours -- {path}` or the template's with "
        "`git checkout --theirs -- {path}`, then `git add {path}`"
    ),
}
_LABEL = re.compile(r"CONFLICT \(([^)]*)\)")
_BINARY = "warning: Cannot merge binary files"
# git's labels, as in "CONFLICT (rename/delete): ...", by kind.
_KINDS = (
    ("binary", ("binary",)),
    ("rename", ("rename/delete", "rename/rename", "rename/add", "rename involved")),
    ("location", ("file location",)),
    ("file/directory", ("file/directory", "directory/file")),
    ("type", ("distinct types",)),
    ("modify/delete", ("modify/delete",)),
)


@dataclass(frozen=True)
class Conflict:
    path: str
    kind: str  # a key of STEPS
    messages: tuple[str, ...] = field(default=())  # git's CONFLICT lines about the path

    @property
    def step(self) -> str:
        return STEPS[self.kind].format(path=shown(self.path))

    def as_dict(self) -> dict[str, object]:
        return {
            "path": shown(self.path),
            "kind": self.kind,
            "git": [shown(line) for line in self.messages],
            "next": self.step,
        }


def classify(path: str, stages: set[int], messages: Iterable[str]) -> Conflict:
    """The kind of one unmerged path, from its index stages and git's messages about it."""
    told = tuple(dict.fromkeys(messages))
    # git's own label for each conflict, e.g. "content", "modify/delete", "rename/delete".
    labels = {match.group(1) for line in told if (match := _LABEL.match(line))}
    if any(line.startswith(_BINARY) for line in told):
        labels.add("binary")
    kind = next((k for k, names in _KINDS if labels & set(names)), None)
    if kind is None:
        kind = "content" if {2, 3} <= stages else "modify/delete"
    return Conflict(path, kind, tuple(line for line in told if line.startswith("CONFLICT")))


def _stages(entries: Iterable[str]) -> dict[str, set[int]]:
    """`<mode> <object> <stage>\\t<path>` entries (ls-files -u, merge-tree) by path."""
    found: dict[str, set[int]] = {}
    for entry in entries:
        info, _, path = entry.partition("\t")
        if path:
            found.setdefault(path, set()).add(int(info.split()[-1]))
    return found


def after_merge(repo: Path, merge_output: str) -> list[Conflict]:
    """The conflicts a stopped `git merge` left in the index, with its messages."""
    listed = git(repo, "ls-files", "-u", "-z").stdout.split("\0")
    lines = [line.strip() for line in merge_output.splitlines()]
    told = [line for line in lines if line.startswith(("CONFLICT", _BINARY))]
    return [
        classify(path, stages, (line for line in told if _names(line, path)))
        for path, stages in sorted(_stages(listed).items())
    ]


def _names(line: str, path: str) -> bool:
    """Whether git's message names the path as a whole word (not inside another path)."""
    return re.search(rf"(?:^|\s){re.escape(path)}(?:[\s.,:;)]|$)", line) is not None


def predict(repo: Path, ours: str, theirs: str, name: str) -> list[Conflict]:
    """What merging theirs (to be the branch `name`) into ours would conflict on, without
    touching the index, the work tree or a ref: `git merge-tree --write-tree` only writes
    objects. Its names for theirs become the branch's, as the real merge writes them."""
    result = git(repo, "merge-tree", "--write-tree", "-z", ours, theirs, check=False)
    result.stdout = result.stdout.replace(f"~{theirs}", f"~{name.replace('/', '_')}")
    result.stdout = result.stdout.replace(theirs, name)
    if result.returncode == 0:
        return []
    if result.returncode != 1:  # 1 means conflicts; anything else is git failing
        git(repo, "merge-tree", "--write-tree", ours, theirs)  # raises with git's reason
    # <tree> NUL <conflicted entries> NUL NUL <messages: count NUL paths... type NUL text NUL>
    head, _, messages = result.stdout.partition("\0\0")
    stages = _stages(head.split("\0")[1:])
    told: dict[str, list[str]] = {path: [] for path in stages}
    fields = iter(messages.split("\0"))
    for count in fields:
        if not count.isdigit():
            break
        paths = [next(fields, "") for _ in range(int(count))]
        next(fields, "")  # the message's type, e.g. "CONFLICT (contents)"
        text = next(fields, "").strip()
        for path in paths:
            told.setdefault(path, []).append(text)
    return [classify(path, stages.get(path, set()), told[path]) for path in sorted(stages)]
