"""The human report of an update, a dry run or a check, and the table after several projects."""

from __future__ import annotations

from scaffold import catalog
from scaffold.project import installed_version
from scaffold.repository import TEMPLATE_BRANCH, shown
from scaffold.update.batch import Outcome
from scaffold.update.conflicts import Conflict
from scaffold.update.result import UpdateResult

BACK_OUT = (
    "or back out with `git merge --abort` (the next `scaffold update` then puts "
    f"{TEMPLATE_BRANCH} back)"
)


def report_lines(result: UpdateResult) -> list[str]:
    """What changed or would change, the conflicts with each one's next step, and .env."""
    if result.status == "up-to-date":
        lines = [
            f"{result.project}: already up to date (the render with scaffold "
            f"{installed_version()} equals {TEMPLATE_BRANCH}); nothing changed"
        ]
        return lines + [f"Note: {note}" for note in result.notes]
    lines = []
    if result.status == "update-available":
        lines.append(f"{result.project}: update available ({result.version_span})")
    elif result.status == "dry-run":
        lines += [shown(result.diff.rstrip("\n"))] if result.diff else []
        lines.append(
            f"Dry run: would merge {TEMPLATE_BRANCH} ({result.version_span}) into "
            f"{result.branch}; nothing changed"
        )
    else:
        done = "stopped with conflicts" if result.conflicts else "done"
        lines.append(
            f"Merge of {TEMPLATE_BRANCH} ({result.version_span}) into {result.branch}: {done}"
        )
    for key, old, new in result.changed_answers:
        lines.append(f"  answer {key}: {old!r} -> {new!r}")
    for label, names in (
        ("updated", result.updated),
        ("added", result.added),
        ("removed", result.removed),
    ):
        lines += [f"  {label:<8} {shown(name)}" for name in names]
    lines += [f"  renamed  {shown(old)} -> {shown(new)}" for old, new in result.renamed]
    if result.conflicts:
        lines += conflict_lines(result.conflicts, predicted=result.status != "conflicts")
    if result.interrupted:
        lines.append("Note: interrupted while merging; the merge had completed and is kept")
    lines += [f"Note: {note}" for note in result.notes]
    if result.env_followed:
        lines += followed_lines(result)
    elif result.env_missing and result.env_changes:
        lines.append(
            "Note: there is no .env; create it from .env.example (cp .env.example .env) and "
            "put new secrets in it, e.g. from python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'"
        )
    else:
        lines += env_lines(result.env_changes)
    if ".env.example" in result.updated + result.added and not result.env_changes:
        lines.append("Note: .env.example changed; copy any new variables into your .env")
    return lines


def conflict_lines(found: list[Conflict], predicted: bool) -> list[str]:
    """git's CONFLICT lines, and the next step for that kind of conflict."""
    lines = [f"{'Would conflict' if predicted else 'Conflicts'} in {len(found)} file(s):"]
    for conflict in found:
        told = conflict.messages or (f"conflict {conflict.path} ({conflict.kind})",)
        lines += [f"  {shown(line)}" for line in told]
        lines.append(f"    next: {conflict.step}")
    if not predicted:
        lines.append(f"Then `git commit`; {BACK_OUT}")
    return lines


def followed_lines(result: UpdateResult) -> list[str]:
    """What the update did to .env, which it changes only where the answers decide."""
    if not result.env_edits:
        return []
    return ["Your .env follows the new answers (secrets untouched):"] + [
        edit.line() for edit in result.env_edits
    ]


def env_lines(changes: list[catalog.EnvChange]) -> list[str]:
    """What to change by hand in .env: after a dry run or a check, a stopped merge, or when
    the project has no .env."""
    if not changes:
        return []
    lines = ["Your .env was not changed; the new answers need:"]
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


def summary_lines(outcomes: list[Outcome]) -> list[str]:
    """One row per project after several: what happened, how many files, the exit code."""
    rows = [("project", "result", "files", "conflicts", "exit")]
    for outcome in outcomes:
        result = outcome.result
        rows.append(
            (
                str(outcome.project),
                outcome.summary,
                str(len(result.files)) if result and result.update_available else "-",
                str(len(result.conflicts)) if result else "-",
                str(outcome.exit_code),
            )
        )
    width = [max(len(row[column]) for row in rows) for column in range(4)]
    return [
        f"{row[0]:<{width[0]}}  {row[1]:<{width[1]}}  {row[2]:>{width[2]}}  "
        f"{row[3]:>{width[3]}}  {row[4]}"
        for row in rows
    ]
