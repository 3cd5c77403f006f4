"""The `update` flow: re-render into a scratch directory, commit on scaffold/template, merge.

The template branch holds the pristine render the project started from, so git has a real
merge base: template changes and the user's edits meet in an ordinary 3-way merge, offline,
without the template's history. Nothing on the user's branch moves until the final `git merge`.
A dry run and a check stop before it: they write git objects, never a ref, the index or a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
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
from scaffold.render import layer_names, render_project, source_origin, templates_source
from scaffold.repository import (
    LITERAL_PATHS,
    NO_HOOKS,
    TEMPLATE_BRANCH,
    TEMPLATE_REF,
    git,
    git_out,
    git_reason,
    identity_args,
    shown,
    tree_of,
)
from scaffold.update import conflicts, env_file
from scaffold.update.history import (
    SOURCE_TRAILER,
    TemplateHistory,
    check_record,
    forget_old_tip,
    put_back,
    remember_old_tip,
    template_history,
)
from scaffold.update.result import UpdateResult


def changed_answers(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, old value, new value) for every answer that differs; None marks a missing one."""
    keys = list(new) + [key for key in old if key not in new]
    return [(key, old.get(key), new.get(key)) for key in keys if old.get(key) != new.get(key)]


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
    check: bool = False,
    overwrite_ignored: bool = False,
) -> UpdateResult:
    """Re-render the template branch and merge it into the current branch (see module doc).
    With dry_run or check, say what the merge would do, conflicts included, and change nothing."""
    try:
        return _update(project, overrides or {}, dry_run, migrations, check, overwrite_ignored)
    except OSError as error:
        raise SystemRefused.from_os_error(error, f"update {project}") from error


def _update(
    project: Path,
    overrides: Mapping[str, Any],
    dry_run: bool,
    migrations: Iterable[Migration],
    check: bool,
    overwrite_ignored: bool,
) -> UpdateResult:
    state = inspect_project(project, read_only=check)
    history = template_history(state)
    installed = installed_version()
    check_record(state, history, overrides, installed, migrations)
    framework = catalog.get(state.record.framework)
    answers = resolve_project_answers(state.record, overrides, installed, migrations)
    layers = layer_names(framework.name)
    old_version = (history.record or state.record).scaffold_version
    tip = history.tip
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
    result.env_missing = not (state.path / env_file.ENV_FILE).exists()
    previewing = dry_run or check
    if history.backed_out:
        result.notes.append(
            f"the last update's merge was backed out (git merge --abort): {TEMPLATE_BRANCH} "
            f"{'goes' if previewing else 'went'} back to {tip[:12]}, where it was before it"
        )
    if up_to_date and history.base == tip:  # nothing new, and the tip is already merged
        if not previewing:
            put_back(state, history)
        return result
    source = templates_source(layers)
    if new_tree and _replaces_authors_render(history.source, source):
        result.notes.append(
            f"{TEMPLATE_BRANCH} was rendered from {history.source}; this update renders from "
            f"{source}, so it replaces what those templates changed"
        )
    commit = tip
    if new_tree:
        message = commit_message(old_version, installed, result.changed_answers)
        commit = git(
            state.path,
            *identity_args(answers),
            "commit-tree",
            new_tree,
            "-p",
            tip,
            "-m",
            f"{message}\n\n{SOURCE_TRAILER}: {source}",
        ).stdout.strip()
    _classify(result, state.path, history.base, commit)
    in_the_way = _ignored_in_the_way(state, [*result.added, *(new for _, new in result.renamed)])
    refusals = _refusals(state, result.files, [] if overwrite_ignored else in_the_way, check)
    if check:
        result.status = "update-available"
        result.conflicts = conflicts.predict(state.path, "HEAD", commit, TEMPLATE_BRANCH)
        result.notes += [f"the update would refuse: {refusal}" for refusal in refusals]
        return result
    if refusals:
        raise refusals[0]
    if dry_run:
        result.status = "dry-run"
        result.diff = git(state.path, "diff", "-M", history.base, commit).stdout
        result.conflicts = conflicts.predict(state.path, "HEAD", commit, TEMPLATE_BRANCH)
        return result
    if in_the_way:
        result.notes.append(f"replaced your ignored, untracked {_listing(in_the_way)}")
    result.template_commit = commit
    merge_template(state, history, commit, answers, result)
    if result.status == "merged" and not result.interrupted:
        _follow_answers_in_env(state.path, framework, result)
    return result


def _replaces_authors_render(rendered_from: str | None, source: str) -> bool:
    """The tip came from a SCAFFOLD_TEMPLATES folder (its source carries a hash), and this
    render comes from elsewhere: both may say the same version, so the author's changes would
    go without a word."""
    authored = rendered_from is not None and " sha256:" in rendered_from
    return authored and source_origin(rendered_from or "") != source_origin(source)


def _listing(paths: list[str]) -> str:
    return ", ".join(shown(path) for path in paths)


def _refusals(
    state: ProjectState, touched: list[str], in_the_way: list[str], check: bool
) -> list[BadInput]:
    """What stops the merge before it starts; a dry run and the real update raise the first,
    a check lists them all."""
    found = []
    hidden = _hidden_from_status(state.path, touched)
    if hidden:
        names = " ".join(shown(path) for path, _ in hidden)
        flags = " ".join(sorted({f"--no-{flag}" for _, flag in hidden}))
        found.append(
            BadInput(
                f"the update changes {names}, which git is told to ignore changes to "
                f"({', '.join(sorted({flag for _, flag in hidden}))}); the merge would "
                "overwrite or lose what you changed there",
                f"run `git update-index {flags} {names}`, commit or stash your change, then rerun",
            )
        )
    if in_the_way:
        found.append(
            BadInput(
                f"the update adds {_listing(in_the_way)}, which you have as ignored, untracked "
                "file(s); git would overwrite them without a word",
                "move them away, or rerun with --overwrite-ignored to take the template's",
            )
        )
    elsewhere = None if check else _checked_out_elsewhere(state.path)
    if elsewhere:
        found.append(
            BadInput(
                f"{TEMPLATE_BRANCH} is checked out in the worktree {elsewhere}, and the update "
                "moves it",
                f"switch that worktree to another branch (or `git worktree remove {elsewhere}`)"
                ", then rerun",
            )
        )
    return found


def _hidden_from_status(repo: Path, paths: list[str]) -> list[tuple[str, str]]:
    """(path, flag) for each path git hides changes to: skip-worktree (`S`) or
    assume-unchanged (a lower-case tag)."""
    if not paths:
        return []
    listed = git(repo, "ls-files", "-v", "-z", "--", *paths, env=LITERAL_PATHS).stdout.split("\0")
    hidden = []
    for entry in filter(None, listed):
        tag, path = entry[0], entry[2:]
        if tag == "S":
            hidden.append((path, "skip-worktree"))
        elif tag.islower():
            hidden.append((path, "assume-unchanged"))
    return hidden


def _checked_out_elsewhere(repo: Path) -> str | None:
    """The other worktree that has the template branch checked out, if one does."""
    listed = git(repo, "worktree", "list", "--porcelain", check=False).stdout
    for block in listed.split("\n\n"):
        lines = block.splitlines()
        if f"branch {TEMPLATE_REF}" in lines and lines[0].startswith("worktree "):
            return shown(lines[0].removeprefix("worktree "))
    return None


def _ignored_in_the_way(state: ProjectState, paths: list[str]) -> list[str]:
    """Paths the merge adds that exist in the work tree untracked: ignored files, since the
    project is clean. git's merge overwrites those silently."""
    present = [path for path in paths if os.path.lexists(state.path / path)]
    if not present:
        return []
    listed = git(
        state.path,
        "ls-files",
        "-z",
        "--",
        *present,
        env=LITERAL_PATHS,
    ).stdout
    tracked = [name for name in listed.split("\0") if name]
    # A tracked directory at the path is a file/directory conflict, not an ignored file.
    return [
        path
        for path in present
        if not any(name == path or name.startswith(f"{path}/") for name in tracked)
    ]


def _follow_answers_in_env(
    project: Path, framework: catalog.Framework, result: UpdateResult
) -> None:
    """The merge is done: move .env's answer-made values along; a failure here is a note."""
    try:
        result.env_edits = env_file.follow_answers(project, framework, result.env_changes)
        result.env_followed = (project / env_file.ENV_FILE).is_file()
    except OSError as error:
        result.notes.append(
            f"could not update .env ({os.strerror(error.errno) if error.errno else error}); "
            "make the changes below by hand"
        )
    except env_file.NotEditable as error:
        result.notes.append(f"did not update .env: {error}; make the changes below by hand")


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
    history: TemplateHistory,
    commit: str,
    answers: dict[str, Any],
    result: UpdateResult,
) -> None:
    """Move the template branch to commit and merge it; on failure put everything back.

    The ref move and the merge run to their end as one step: an interrupt that arrives
    meanwhile is raised after it, so the project is either merged or as before, never half."""
    old_tip = state.local_tip  # None: a clone's first update creates the local branch
    created = old_tip is None
    moved = commit != old_tip
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
    if result.conflicts and commit != history.tip:
        remember_old_tip(state.path, history.tip)  # for a `git merge --abort`; see history.py
    else:
        forget_old_tip(state.path)
    result.status = "conflicts" if result.conflicts else "merged"


def _move_and_merge(
    state: ProjectState,
    created: bool,
    moved: bool,
    old_tip: str | None,
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
            old_tip or "",
        )
    title = f"Merge {TEMPLATE_BRANCH} ({result.version_span})"
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
    result.conflicts = conflicts.after_merge(state.path, merge.stdout)
    if merge.returncode != 0 and not result.conflicts:
        # Files git hides were refused before (_refusals); what is left is git's own reason.
        raise OperationFailed(
            f"git merge failed: {git_reason(merge)}",
            "your branch is unchanged; fix the cause and rerun",
        )


def _restore(
    state: ProjectState, commit: str, old_tip: str | None, moved: bool, created: bool
) -> None:
    """Undo a half-done merge: user's branch and tree as before, template branch at its old tip.

    Only a merge that started is reset: one git refused leaves the tree as it was, and a
    reset would wipe changes git hides (assume-unchanged files)."""
    path = state.path
    if git_out(path, "rev-parse", "HEAD") != state.head:
        return  # the merge finished; keep it
    lock = path / (git_out(path, "rev-parse", "--git-path", "index.lock") or "index.lock")
    killed = lock.exists()  # left by our own git child, killed by Ctrl-C
    lock.unlink(missing_ok=True)
    merge_head = git_out(path, "rev-parse", "--git-path", "MERGE_HEAD") or "MERGE_HEAD"
    started = (path / merge_head).exists()
    if started:
        git(path, "merge", "--abort", check=False)
    if started or killed:
        git(path, "reset", "--hard", "--quiet", state.head, check=False)
    if moved and git_out(path, "rev-parse", "--verify", "--quiet", TEMPLATE_REF) == commit:
        if created:
            git(path, "update-ref", "-d", TEMPLATE_REF, commit, check=False)
        else:
            assert old_tip is not None
            git(path, "update-ref", TEMPLATE_REF, old_tip, commit, check=False)
