"""The `update` flow: re-render into a scratch directory, commit on scaffold/template, merge.

The template branch holds the pristine render the project started from, so git has a real
merge base: template changes and the user's edits meet in an ordinary 3-way merge, offline,
without the template's history. Nothing on the user's branch moves until the final `git merge`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import catalog, interrupts
from scaffold.errors import BadInput, OperationFailed, SystemRefused
from scaffold.migrations import MIGRATIONS, Migration, migrate_answers
from scaffold.project import (
    RECORD_FILE,
    ProjectState,
    Record,
    inspect_project,
    installed_version,
    resolve_project_answers,
)
from scaffold.render import layer_names, render_project
from scaffold.repository import (
    NO_HOOKS,
    TEMPLATE_BRANCH,
    TEMPLATE_REF,
    git,
    git_out,
    git_reason,
    identity_args,
    tree_of,
)


def require_template(state: ProjectState) -> tuple[str, str, str]:
    """The template ref, its tip, and its merge base with the user's branch; or refuse."""
    if state.template_ref is None or state.template_tip is None:
        raise BadInput(
            f"{state.path} has no {TEMPLATE_BRANCH} branch to update from",
            f"fetch it (git fetch origin {TEMPLATE_BRANCH}:{TEMPLATE_BRANCH}) or "
            "recreate it from the current answers with `scaffold adopt`",
        )
    base = git_out(state.path, "merge-base", state.template_tip, state.head)
    if base is None:
        raise BadInput(
            f"{state.branch} shares no history with {TEMPLATE_BRANCH}",
            f"delete {TEMPLATE_BRANCH} (git branch -D {TEMPLATE_BRANCH}) and run `scaffold adopt`",
        )
    return state.template_ref, state.template_tip, base


def changed_answers(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, old value, new value) for every answer that differs; None marks a missing one."""
    keys = list(new) + [key for key in old if key not in new]
    return [(key, old.get(key), new.get(key)) for key in keys if old.get(key) != new.get(key)]


def _recorded_version(repo: Path, commit: str, fallback: str) -> str:
    """The scaffold version in the record at commit (the template tip), else fallback."""
    import yaml

    text = git_out(repo, "show", f"{commit}:{RECORD_FILE}")
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
    interrupted: bool = False  # an interrupt arrived during the merge, which completed
    env_changes: list[catalog.EnvChange] = field(default_factory=list)  # for the untracked .env

    def as_dict(self) -> dict[str, Any]:
        body = {key: getattr(self, key) for key in self.__dataclass_fields__}
        body["project"] = str(self.project)
        body["changed_answers"] = [
            {"name": key, "old": old, "new": new} for key, old, new in self.changed_answers
        ]
        body["renamed"] = [list(pair) for pair in self.renamed]
        body["env_changes"] = [
            {"name": c.name, "old": c.old, "new": c.new, "secret": c.secret}
            for c in self.env_changes
        ]
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
    try:
        return _update(project, overrides or {}, dry_run, migrations)
    except OSError as error:
        raise SystemRefused.from_os_error(error, f"update {project}") from error


def _update(
    project: Path,
    overrides: Mapping[str, Any],
    dry_run: bool,
    migrations: Iterable[Migration],
) -> UpdateResult:
    state = inspect_project(project)
    template_ref, tip, base = require_template(state)
    installed = installed_version()
    framework = catalog.get(state.record.framework)
    answers = resolve_project_answers(state.record, overrides, installed, migrations)
    layers = layer_names(framework.name)
    old_version = _recorded_version(state.path, tip, state.record.scaffold_version)
    with interrupts.scratch_directory("scaffold-update-") as root:
        # A release that changes no rendered file is not an update: compare with the old version.
        old_record = Record(old_version, framework.name, layers, answers)
        rendered = render_project(root, framework, answers, old_record)
        same = tree_of(state.path, root, rendered.tracked)
        up_to_date = same == git(state.path, "rev-parse", f"{tip}^{{tree}}").stdout.strip()
        new_tree = None
        if not up_to_date:
            new_record = Record(installed, framework.name, layers, answers)
            (root / RECORD_FILE).write_text(new_record.to_yaml(), encoding="utf-8")
            new_tree = tree_of(state.path, root, rendered.tracked)
    result = UpdateResult(
        "up-to-date",
        state.path,
        state.branch,
        old_version,
        old_version if up_to_date else installed,
        changed_answers(state.record.answers, answers),
    )
    old_answers = migrate_answers(state.record.answers, old_version, installed, migrations)
    result.env_changes = catalog.env_changes(framework, {**answers, **old_answers}, answers)
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
    """Move the template branch to commit and merge it; on failure put everything back.

    The ref move and the merge run to their end as one step: an interrupt that arrives
    meanwhile is raised after it, so the project is either merged or as before, never half."""
    created = template_ref != TEMPLATE_REF  # a clone's first update creates the local branch
    moved = commit != old_tip or created
    completed = False
    try:
        with interrupts.held():
            try:
                _move_and_merge(state, created, moved, old_tip, commit, answers, result)
                completed = True
            except BaseException:
                _restore(state, commit, old_tip, moved, created)
                raise
    except KeyboardInterrupt:
        if not completed:
            raise
        result.interrupted = True  # the merge had completed: it is kept, and reported
    result.status = "conflicts" if result.conflicts else "merged"


def _move_and_merge(
    state: ProjectState,
    created: bool,
    moved: bool,
    old_tip: str,
    commit: str,
    answers: dict[str, Any],
    result: UpdateResult,
) -> None:
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
        raise OperationFailed(
            f"git merge failed: {git_reason(merge)}",
            "your branch is unchanged; fix the cause and rerun",
        )


def _restore(state: ProjectState, commit: str, old_tip: str, moved: bool, created: bool) -> None:
    """Undo a half-done merge: user's branch and tree as before, template branch at its old tip."""
    path = state.path
    if git_out(path, "rev-parse", "HEAD") != state.head:
        return  # the merge finished; keep it
    lock = Path(git_out(path, "rev-parse", "--git-path", "index.lock") or "index.lock")
    (path / lock).unlink(missing_ok=True)  # left by our own git child, killed by Ctrl-C
    if (path / (git_out(path, "rev-parse", "--git-path", "MERGE_HEAD") or "MERGE_HEAD")).exists():
        git(path, "merge", "--abort", check=False)
    git(path, "reset", "--hard", "--quiet", state.head, check=False)
    if moved and git_out(path, "rev-parse", "--verify", "--quiet", TEMPLATE_REF) == commit:
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
    if result.interrupted:
        lines.append("Note: interrupted while merging; the merge had completed and is kept")
    lines += env_lines(result.env_changes)
    if ".env.example" in result.updated + result.added and not result.env_changes:
        lines.append("Note: .env.example changed; copy any new variables into your .env")
    return lines


def env_lines(changes: list[catalog.EnvChange]) -> list[str]:
    """What to change by hand in .env, which is untracked and never touched by an update."""
    if not changes:
        return []
    lines = ["Your .env is yours and was not changed; the new answers need:"]
    for change in changes:
        if change.new is None:
            lines.append(f"  .env: remove {change.name} (no longer read)")
        elif change.secret:
            lines.append(
                f"  .env: add {change.name}=<a new secret>, e.g. from "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        elif change.old is None:
            lines.append(f"  .env: add {change.name}={change.new}")
        else:
            lines.append(f"  .env: set {change.name}={change.new} (was {change.old})")
    return lines
