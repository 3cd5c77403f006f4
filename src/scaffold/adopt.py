"""The `adopt` flow: recreate scaffold/template for a project that lost it (or never had it).

The branch gets one commit with a fresh render of the current answers, and the user's branch
records a merge of it with `-s ours`: no file changes, but git now sees that render as already
merged, so the next `scaffold update` brings only template changes made after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scaffold import catalog, interrupts
from scaffold.errors import BadInput, OperationFailed, SystemRefused
from scaffold.project import (
    RECORD_FILE,
    inspect_project,
    installed_version,
    resolve_project_answers,
)
from scaffold.render import render_project
from scaffold.repository import (
    NO_HOOKS,
    TEMPLATE_BRANCH,
    TEMPLATE_REF,
    git,
    identity_args,
    tree_of,
)


@dataclass(frozen=True)
class AdoptResult:
    branch: str
    commit: str
    into: str
    version: str
    record_file: str = RECORD_FILE


def adopt_project(project: Path) -> AdoptResult:
    """Give the project a scaffold/template branch from its answers (see module doc)."""
    try:
        return _adopt(project)
    except OSError as error:
        raise SystemRefused.from_os_error(error, f"adopt {project}") from error


def _adopt(project: Path) -> AdoptResult:
    state = inspect_project(project, command="adopt")
    if state.local_tip is not None:
        raise BadInput(
            f"{state.path} already has a {TEMPLATE_BRANCH} branch", "run `scaffold update` instead"
        )
    if state.template_ref is not None:
        remote = state.template_ref.removeprefix("refs/remotes/")
        raise BadInput(
            f"{state.path} has {remote} but no local {TEMPLATE_BRANCH} branch",
            f"use it instead: git branch {TEMPLATE_BRANCH} {remote}",
        )
    installed = installed_version()
    framework = catalog.get(state.record.framework)
    answers = resolve_project_answers(state.record, {}, installed)
    # The user's own record goes on the branch byte for byte, so it is a clean merge base.
    record_text = (state.path / RECORD_FILE).read_text(encoding="utf-8")
    with interrupts.scratch_directory("scaffold-adopt-") as root:
        rendered = render_project(root, framework, answers)
        (root / RECORD_FILE).write_text(record_text, encoding="utf-8")
        tree_id = tree_of(state.path, root, rendered.tracked)
    message = (
        f"Recreate {TEMPLATE_BRANCH} with scaffold {installed} from the answers in {RECORD_FILE}"
    )
    commit = git(
        state.path, *identity_args(answers), "commit-tree", tree_id, "-m", message
    ).stdout.strip()
    git(state.path, "update-ref", "-m", "scaffold adopt", TEMPLATE_REF, commit, "")
    try:
        git(
            state.path,
            *NO_HOOKS,
            *identity_args(answers),
            "merge",
            "--quiet",
            "-s",
            "ours",
            "--allow-unrelated-histories",
            "--no-edit",
            "-m",
            f"Adopt {TEMPLATE_BRANCH} as the base for `scaffold update`",
            TEMPLATE_BRANCH,
        )
    except BaseException as error:
        if git(state.path, "rev-parse", "HEAD").stdout.strip() == state.head:
            git(state.path, "update-ref", "-d", TEMPLATE_REF, commit, check=False)
        if isinstance(error, OperationFailed):
            raise OperationFailed(error.message, "nothing was changed") from error
        raise
    return AdoptResult(TEMPLATE_BRANCH, commit, state.branch, installed)
