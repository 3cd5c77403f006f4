"""The `update` flow: re-render on scaffold/template in a temporary worktree, commit, merge.

The template branch holds the pristine render the project started from, so git has a real
merge base: template changes and the user's edits meet in an ordinary 3-way merge, offline,
without the template's history. Nothing on the user's branch moves until the final `git merge`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import catalog
from scaffold.errors import BadInput, OperationFailed
from scaffold.migrations import MIGRATIONS, Migration, migrate_answers, version_key
from scaffold.project import RECORD_FILE, TEMPLATE_BRANCH, Record, git, identity_args
from scaffold.questions import resolve_answers
from scaffold.render import layer_names

TEMPLATE_REF = f"refs/heads/{TEMPLATE_BRANCH}"
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")  # the user's hooks must not run on our checkouts
IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
}


def installed_version() -> str:
    import scaffold

    return scaffold.__version__


@dataclass(frozen=True)
class ProjectState:
    """A project that passed every precondition: clean, on a branch, with a readable record."""

    path: Path
    branch: str
    head: str
    record: Record
    template_ref: str | None  # refs/heads/scaffold/template, or a remote's copy in a fresh clone
    template_tip: str | None


def _out(cwd: Path, *args: str) -> str | None:
    result = git(cwd, *args, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def find_template(path: Path) -> tuple[str | None, str | None]:
    """The template branch's ref and tip: local first, else a single remote's copy (a clone)."""
    refs = (
        _out(
            path, "for-each-ref", "--format=%(refname) %(objectname)", TEMPLATE_REF, "refs/remotes/"
        )
        or ""
    )
    found = dict(line.split() for line in refs.splitlines())
    if TEMPLATE_REF in found:
        return TEMPLATE_REF, found[TEMPLATE_REF]
    remote = [(ref, tip) for ref, tip in found.items() if ref.endswith(f"/{TEMPLATE_BRANCH}")]
    if len(remote) == 1:
        return remote[0][0], remote[0][1]
    return None, None


def inspect_project(project: Path, command: str = "update") -> ProjectState:
    """Check every precondition; refuse with one line (BadInput) before anything changes."""
    path = Path(os.path.abspath(project))
    if not path.is_dir():
        raise BadInput(f"{path} is not a directory", "pass the project's directory")
    listed = _out(
        path,
        "rev-parse",
        "--show-toplevel",
        *[arg for name in IN_PROGRESS for arg in ("--git-path", name)],
    )
    if listed is None:
        raise BadInput(
            f"{path} is not a git repository",
            "commit the project with `git init && git add -A && git commit`, "
            "then run `scaffold adopt`",
        )
    top, *markers = listed.splitlines()
    for name, marker in zip(IN_PROGRESS, markers, strict=True):
        if (path / marker).exists():  # --git-path answers relative to where git ran
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
    ref = _out(path, "symbolic-ref", "--quiet", "HEAD")
    if ref is None:
        raise BadInput(
            f"{path} is on a detached HEAD", "check out your branch first, e.g. git switch main"
        )
    head = _out(path, "rev-parse", "--verify", "--quiet", "HEAD")
    if head is None:
        raise BadInput(f"{path} has no commits yet", "commit the project first")
    if ref == TEMPLATE_REF:
        raise BadInput(
            f"{path} is on {TEMPLATE_BRANCH}, which scaffold manages",
            "switch to your own branch first: git switch main",
        )
    status = git(path, "status", "--porcelain", "-z", "--untracked-files=all").stdout
    dirty = [entry[3:] for entry in status.split("\0") if entry[2:3] == " "]
    if dirty:
        more = f" and {len(dirty) - 1} more" if len(dirty) > 1 else ""
        raise BadInput(
            f"{path} has uncommitted changes ({dirty[0]}{more})",
            f"commit or stash them, then rerun scaffold {command}",
        )
    record = Record.read(path)
    catalog.get(record.framework)
    installed = installed_version()
    if version_key(record.scaffold_version) > version_key(installed):
        raise BadInput(
            f"{RECORD_FILE} records scaffold {record.scaffold_version}, newer than "
            f"the installed {installed}",
            "upgrade scaffold first: pip install -U scaffold",
        )
    template_ref, tip = find_template(path)
    return ProjectState(path, ref.removeprefix("refs/heads/"), head, record, template_ref, tip)


def require_template(state: ProjectState) -> tuple[str, str, str]:
    """The template ref, its tip, and its merge base with the user's branch; or refuse."""
    if state.template_ref is None or state.template_tip is None:
        raise BadInput(
            f"{state.path} has no {TEMPLATE_BRANCH} branch to update from",
            f"fetch it (git fetch origin {TEMPLATE_BRANCH}:{TEMPLATE_BRANCH}) or "
            "recreate it from the current answers with `scaffold adopt`",
        )
    base = _out(state.path, "merge-base", state.template_tip, state.head)
    if base is None:
        raise BadInput(
            f"{state.branch} shares no history with {TEMPLATE_BRANCH}",
            f"delete {TEMPLATE_BRANCH} (git branch -D {TEMPLATE_BRANCH}) and run `scaffold adopt`",
        )
    return state.template_ref, state.template_tip, base


def resolve_project_answers(
    record: Record,
    overrides: Mapping[str, Any],
    installed: str,
    migrations: Iterable[Migration] = MIGRATIONS,
) -> dict[str, Any]:
    """Stored answers, migrated to the installed schema, with --data on top, validated like new."""
    framework = catalog.get(record.framework)
    stored = migrate_answers(record.answers, record.scaffold_version, installed, migrations)
    return resolve_answers(framework.questions, {**stored, **overrides})


def changed_answers(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, old value, new value) for every answer that differs; None marks a missing one."""
    keys = list(new) + [key for key in old if key not in new]
    return [(key, old.get(key), new.get(key)) for key in keys if old.get(key) != new.get(key)]


class TemplateWorktree:
    """A temporary detached checkout of a commit, outside the project, removed on exit."""

    def __init__(self, repo: Path, commit: str) -> None:
        self.repo = repo
        self.commit = commit
        self.parent = Path(tempfile.mkdtemp(prefix="scaffold-update-"))
        self.path = self.parent / "tree"

    def __enter__(self) -> TemplateWorktree:
        try:
            # No checkout: the render replaces every file anyway, and writing them twice is slow.
            git(
                self.repo,
                *NO_HOOKS,
                "worktree",
                "add",
                "--quiet",
                "--no-checkout",
                "--detach",
                str(self.path),
                self.commit,
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        removed = (
            self.path.exists()
            and git(
                self.repo, "worktree", "remove", "--force", str(self.path), check=False
            ).returncode
            == 0
        )
        shutil.rmtree(self.parent, ignore_errors=True)
        if not removed:
            git(self.repo, "worktree", "prune", check=False)

    def render(self, framework: catalog.Framework, answers: dict[str, Any]) -> None:
        """Render all layers into the empty checkout; `snapshot` then stages the whole tree."""
        from scaffold.new import render_project

        render_project(self.path, framework, answers)

    def snapshot(self, record_text: str) -> str:
        """Write the record, stage everything and return the tree id."""
        (self.path / RECORD_FILE).write_text(record_text, encoding="utf-8")
        git(self.path, "add", "--all")
        return git(self.path, "write-tree").stdout.strip()


def _recorded_version(repo: Path, commit: str, fallback: str) -> str:
    """The scaffold version in the record at commit (the template tip), else fallback."""
    import yaml

    text = _out(repo, "show", f"{commit}:{RECORD_FILE}")
    try:
        body = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return fallback
    version = body.get("scaffold_version") if isinstance(body, dict) else None
    return version if isinstance(version, str) else fallback


@dataclass
class UpdateResult:
    status: str  # "up-to-date" | "merged" | "conflicts" | "dry-run"
    project: Path
    branch: str
    from_version: str
    to_version: str
    changed_answers: list[tuple[str, Any, Any]] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    template_commit: str | None = None
    diff: str = ""

    def as_dict(self) -> dict[str, Any]:
        body = {key: getattr(self, key) for key in self.__dataclass_fields__}
        body["project"] = str(self.project)
        body["changed_answers"] = [
            {"name": key, "old": old, "new": new} for key, old, new in self.changed_answers
        ]
        body["renamed"] = [list(pair) for pair in self.renamed]
        return body


def _classify(result: UpdateResult, repo: Path, base: str, target: str) -> None:
    """Fill updated/added/removed/renamed from the template side of the merge."""
    out = git(repo, "diff", "--name-status", "-z", "-M", base, target).stdout.split("\0")
    fields = iter(filter(None, out))
    for code in fields:
        if code.startswith("R"):
            result.renamed.append((next(fields), next(fields)))
            continue
        bucket = {"A": result.added, "D": result.removed}.get(code[0], result.updated)
        bucket.append(next(fields))


def update_project(
    project: Path,
    overrides: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    migrations: Iterable[Migration] = MIGRATIONS,
) -> UpdateResult:
    """Re-render the template branch and merge it into the current branch (see module doc)."""
    state = inspect_project(project)
    template_ref, tip, base = require_template(state)
    installed = installed_version()
    framework = catalog.get(state.record.framework)
    answers = resolve_project_answers(state.record, overrides or {}, installed, migrations)
    layers = layer_names(framework.name)
    with TemplateWorktree(state.path, tip) as tree:
        old_version = _recorded_version(state.path, tip, state.record.scaffold_version)
        tree.render(framework, answers)
        # A release that changes no rendered file is not an update: compare with the old version.
        same = tree.snapshot(Record(old_version, framework.name, layers, answers).to_yaml())
        up_to_date = same == git(state.path, "rev-parse", f"{tip}^{{tree}}").stdout.strip()
        new_tree = (
            None
            if up_to_date
            else tree.snapshot(Record(installed, framework.name, layers, answers).to_yaml())
        )
    result = UpdateResult(
        "up-to-date",
        state.path,
        state.branch,
        old_version,
        old_version if up_to_date else installed,
        changed_answers(state.record.answers, answers),
    )
    if up_to_date and base == tip:  # nothing new, and the tip is already merged
        return result
    if dry_run:
        result.status = "dry-run"
        target = new_tree or tip
        _classify(result, state.path, base, target)
        result.diff = git(state.path, "diff", "-M", base, target).stdout
        return result
    commit = tip
    if new_tree:
        message = commit_message(old_version, installed, result.changed_answers)
        commit = git(
            state.path, *identity_args(answers), "commit-tree", new_tree, "-p", tip, "-m", message
        ).stdout.strip()
    result.template_commit = commit
    _classify(result, state.path, base, commit)
    merge_template(state, template_ref, tip, commit, answers, result)
    return result


def commit_message(old: str, new: str, changes: list[tuple[str, Any, Any]]) -> str:
    if old != new:
        title = f"Update scaffold template from scaffold {old} to {new}"
    elif changes:
        names = ", ".join(key for key, _, _ in changes)
        title = f"Re-render scaffold template with scaffold {new} for new answers: {names}"
    else:
        title = f"Re-render scaffold template with scaffold {new}"
    lines = [f"- {key}: {before!r} -> {after!r}" for key, before, after in changes]
    return title + ("\n\nChanged answers:\n" + "\n".join(lines) if lines else "")


def merge_template(
    state: ProjectState,
    template_ref: str,
    old_tip: str,
    commit: str,
    answers: dict[str, Any],
    result: UpdateResult,
) -> None:
    """Move the template branch to commit and merge it; on failure put everything back."""
    created = template_ref != TEMPLATE_REF  # a clone's first update creates the local branch
    moved = commit != old_tip or created
    try:
        if moved:
            git(
                state.path,
                "update-ref",
                "-m",
                "scaffold update",
                TEMPLATE_REF,
                commit,
                "" if created else old_tip,
            )
        title = f"Merge {TEMPLATE_BRANCH} ({version_span(result)})"
        merge = git(
            state.path,
            *NO_HOOKS,
            *identity_args(answers),
            "merge",
            "--no-ff",
            "--no-edit",
            "-m",
            title,
            TEMPLATE_BRANCH,
            check=False,
        )
        unmerged = git(state.path, "diff", "--name-only", "-z", "--diff-filter=U").stdout
        result.conflicts = sorted(filter(None, unmerged.split("\0")))
        if merge.returncode != 0 and not result.conflicts:
            detail = (merge.stderr or merge.stdout).strip().splitlines()
            raise OperationFailed(
                f"git merge failed: {detail[-1] if detail else merge.returncode}",
                "your branch is unchanged; fix the cause and rerun",
            )
    except BaseException:
        _restore(state, commit, old_tip, moved, created)
        raise
    result.status = "conflicts" if result.conflicts else "merged"


def _restore(state: ProjectState, commit: str, old_tip: str, moved: bool, created: bool) -> None:
    """Undo a half-done merge: user's branch and tree as before, template branch at its old tip."""
    path = state.path
    if _out(path, "rev-parse", "HEAD") != state.head:
        return  # the merge finished; keep it
    lock = Path(_out(path, "rev-parse", "--git-path", "index.lock") or "index.lock")
    (path / lock).unlink(missing_ok=True)  # left by our own git child, killed by Ctrl-C
    if (path / (_out(path, "rev-parse", "--git-path", "MERGE_HEAD") or "MERGE_HEAD")).exists():
        git(path, "merge", "--abort", check=False)
    git(path, "reset", "--hard", "--quiet", state.head, check=False)
    if moved and _out(path, "rev-parse", "--verify", "--quiet", TEMPLATE_REF) == commit:
        if created:
            git(path, "update-ref", "-d", TEMPLATE_REF, commit, check=False)
        else:
            git(path, "update-ref", TEMPLATE_REF, old_tip, commit, check=False)


def version_span(result: UpdateResult) -> str:
    if result.from_version == result.to_version:
        return f"scaffold {result.to_version}"
    return f"scaffold {result.from_version} -> {result.to_version}"


def report_lines(result: UpdateResult) -> list[str]:
    """The human report: what changed, conflicts, and what to do next."""
    if result.status == "up-to-date":
        return [
            f"{result.project}: already up to date (the render with scaffold "
            f"{installed_version()} equals {TEMPLATE_BRANCH}); nothing changed"
        ]
    lines = []
    if result.status == "dry-run":
        lines += [result.diff.rstrip("\n")] if result.diff else []
        lines.append(
            f"Dry run: would merge {TEMPLATE_BRANCH} ({version_span(result)}) into "
            f"{result.branch}; nothing changed"
        )
    else:
        done = "stopped with conflicts" if result.conflicts else "done"
        lines.append(
            f"Merge of {TEMPLATE_BRANCH} ({version_span(result)}) into {result.branch}: {done}"
        )
    for key, old, new in result.changed_answers:
        lines.append(f"  answer {key}: {old!r} -> {new!r}")
    for label, names in (
        ("updated", result.updated),
        ("added", result.added),
        ("removed", result.removed),
    ):
        lines += [f"  {label:<8} {name}" for name in names]
    lines += [f"  renamed  {old} -> {new}" for old, new in result.renamed]
    if result.conflicts:
        lines.append(f"Conflicts in {len(result.conflicts)} file(s):")
        lines += [f"  conflict {name}" for name in result.conflicts]
        lines.append(
            "Next: resolve the markers, then `git add` them and `git commit`; "
            "or back out with `git merge --abort`"
        )
    if ".env.example" in result.updated + result.added:
        lines.append("Note: .env.example changed; copy any new variables into your .env")
    return lines
