"""What the template branch says about the project, checked before anything is rendered.

- The merge base: none in a shallow clone, which `git fetch --unshallow` cures.
- A merge the user backed out (`git merge --abort`): the branch had moved for it, so it is put
  back, or the next update would merge nothing and call it done.
- The record at the branch's tip: the framework it was rendered for and the answers it had.
  A hand edit must not convert the project or silently refill answers with defaults.
- Where that render's templates came from (a trailer in its commit message).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.errors import BadInput
from scaffold.migrations import Migration, migrate_answers
from scaffold.project import RECORD_FILE, ProjectState, Record
from scaffold.repository import TEMPLATE_BRANCH, TEMPLATE_REF, git, git_out

# Where the old tip waits while a merge that moved the branch stops with conflicts.
BEFORE_MERGE_REF = "refs/scaffold/before-merge"
SOURCE_TRAILER = "Scaffold-Templates"


@dataclass(frozen=True)
class TemplateHistory:
    ref: str  # the template branch's ref (a remote's copy in a fresh clone)
    ref_tip: str  # where that ref points now
    tip: str  # the render to start from: ref_tip, or the tip before a backed-out merge
    base: str  # the merge base of tip and the user's branch
    record: Record | None  # .scaffold.yml at tip, when readable
    source: str | None  # the templates the tip was rendered from, from its trailer

    @property
    def backed_out(self) -> bool:
        return self.tip != self.ref_tip


def template_history(state: ProjectState) -> TemplateHistory:
    """The template branch as the update needs it; BadInput when there is none to use."""
    if state.template_ref is None or state.template_tip is None:
        raise BadInput(
            f"{state.path} has no {TEMPLATE_BRANCH} branch to update from",
            f"fetch it (git fetch origin {TEMPLATE_BRANCH}:{TEMPLATE_BRANCH}) or "
            "recreate it from the current answers with `scaffold adopt`",
        )
    if state.diverged_from is not None:
        remote = state.diverged_from.removeprefix("refs/remotes/")
        raise BadInput(
            f"{TEMPLATE_BRANCH} and {remote} have diverged: each has template commits the "
            "other lacks",
            f"keep the team's: git branch -f {TEMPLATE_BRANCH} {remote} (or push yours), "
            "then rerun",
        )
    tip = _before_backed_out_merge(state) or state.template_tip
    base = git_out(state.path, "merge-base", tip, state.head)
    if base is None:
        if git_out(state.path, "rev-parse", "--is-shallow-repository") == "true":
            raise BadInput(
                f"{state.path} is a shallow clone, so git cannot see the history "
                f"{state.branch} shares with {TEMPLATE_BRANCH}",
                "fetch all of it with `git fetch --unshallow` (GitHub Actions: actions/checkout "
                "with fetch-depth: 0), then rerun",
            )
        raise BadInput(
            f"{state.branch} shares no history with {TEMPLATE_BRANCH}",
            f"delete {TEMPLATE_BRANCH} (git branch -D {TEMPLATE_BRANCH}) and run `scaffold adopt`",
        )
    message = git_out(state.path, "log", "-1", "--format=%B", tip) or ""
    return TemplateHistory(
        state.template_ref,
        state.template_tip,
        tip,
        base,
        _record_at(state.path, tip),
        _trailer(message, SOURCE_TRAILER),
    )


def _before_backed_out_merge(state: ProjectState) -> str | None:
    """The old tip, when the last update stopped with conflicts and the user backed out:
    the marker is there, the branch's tip is the commit made on top of it, and that commit
    never reached the user's branch."""
    assert state.template_tip is not None
    old = git_out(state.path, "rev-parse", "--verify", "--quiet", BEFORE_MERGE_REF)
    if old is None or old == state.template_tip:
        return None
    if git_out(state.path, "rev-parse", "--verify", "--quiet", f"{state.template_tip}^1") != old:
        return None
    merged = git(
        state.path, "merge-base", "--is-ancestor", state.template_tip, state.head, check=False
    )
    return old if merged.returncode == 1 else None


def _record_at(repo: Path, commit: str) -> Record | None:
    shown = git(repo, "show", f"{commit}:{RECORD_FILE}", check=False)
    text = shown.stdout if shown.returncode == 0 else None  # unstripped: the plain reader's form
    try:
        return Record.from_text(text, f"{TEMPLATE_BRANCH}:{RECORD_FILE}") if text else None
    except BadInput:
        return None  # an old or odd record on the branch: the checks below need not run


def _trailer(message: str, key: str) -> str | None:
    for line in reversed(message.splitlines()):
        if line.startswith(f"{key}: "):
            return line.removeprefix(f"{key}: ").strip()
    return None


def check_record(
    state: ProjectState,
    history: TemplateHistory,
    overrides: Mapping[str, Any],
    installed: str,
    migrations: Iterable[Migration],
) -> None:
    """Refuse hand edits of .scaffold.yml that an update would act on without a word."""
    rendered = history.record
    if rendered is None:
        return
    if rendered.framework != state.record.framework:
        raise BadInput(
            f"{RECORD_FILE} says framework {state.record.framework}, but {TEMPLATE_BRANCH} was "
            f"rendered for {rendered.framework}; scaffold does not convert a project to "
            "another framework",
            f"put back `framework: {rendered.framework}` in {RECORD_FILE}, or start the other "
            "framework with `scaffold new`",
        )
    had = migrate_answers(rendered.answers, rendered.scaffold_version, installed, migrations)
    has = migrate_answers(
        state.record.answers, state.record.scaffold_version, installed, migrations
    )
    lost = [name for name in had if name not in has and name not in overrides]
    if lost:
        names = ", ".join(lost)
        raise BadInput(
            f"{RECORD_FILE} lost the answer{'s' if len(lost) > 1 else ''} {names}, which "
            f"{TEMPLATE_BRANCH} was rendered with (an update would put defaults in)",
            f"put {'them' if len(lost) > 1 else 'it'} back (`git show {TEMPLATE_BRANCH}:"
            f"{RECORD_FILE}` has the values), or set {'them' if len(lost) > 1 else 'it'} "
            f"with --data {lost[0]}=...",
        )


def put_back(state: ProjectState, history: TemplateHistory) -> None:
    """Move the template branch back over a backed-out merge (a real update only)."""
    if history.backed_out and history.ref == TEMPLATE_REF:
        git(state.path, "update-ref", TEMPLATE_REF, history.tip, history.ref_tip)
    forget_old_tip(state.path)


def remember_old_tip(repo: Path, old_tip: str) -> None:
    git(repo, "update-ref", BEFORE_MERGE_REF, old_tip)


def forget_old_tip(repo: Path) -> None:
    git(repo, "update-ref", "-d", BEFORE_MERGE_REF, check=False)
