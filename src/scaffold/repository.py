"""The git steps on a generated project: run git, commit as the project's author, and turn a
rendered directory into a tree object that holds exactly the rendered files.

Exactly: a render is staged with a private index and `--force`, so no ignore rule of the
machine (core.excludesFile, .git/info/exclude, the template's own .gitignore) can drop a file
from it. Dropping one would make the next merge delete the user's tracked copy.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from itertools import takewhile
from pathlib import Path
from typing import Any

from scaffold import interrupts
from scaffold.errors import OperationFailed

TEMPLATE_BRANCH = "scaffold/template"
TEMPLATE_REF = f"refs/heads/{TEMPLATE_BRANCH}"
GIT_TIMEOUT = 60
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")  # the user's hooks must not run on our commits
LITERAL_PATHS = {"GIT_LITERAL_PATHSPECS": "1"}  # `[x]` or `*` in a name is that name


def git(
    cwd: Path,
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run git in cwd; a failure (with check) is one OperationFailed naming git's reason."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    try:
        with interrupts.held():  # a git step runs to its end; see interrupts.py
            result = subprocess.run(
                ["git", *args],
                cwd=cwd,
                env=full_env,
                input=stdin,
                capture_output=True,
                # Paths are bytes to git: a name that is not UTF-8 round-trips as surrogates
                # (os.fsencode gives the bytes back); `shown` makes it printable.
                encoding="utf-8",
                errors="surrogateescape",
                timeout=GIT_TIMEOUT,
                check=False,
                start_new_session=True,
            )
    except FileNotFoundError as error:
        if not cwd.is_dir():
            raise
        raise OperationFailed(
            "git is not installed", "install git (apt-get install git) or pass --no-git"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise OperationFailed(f"git {args[0]} timed out", "check the repository") from error
    if check and result.returncode != 0:
        reason = git_reason(result)
        raise OperationFailed(f"git {_verb(args)} failed: {reason}", _hint_for(reason))
    return result


# git's words for the operating system saying no, and what to do about it.
_SYSTEM_HINTS = (
    (("No space left", "Out of diskspace", "quota"), "free some space on that file system"),
    (("Read-only file system",), "the repository is on a read-only file system; make it writable"),
    (
        ("Permission denied", "insufficient permission"),
        "make the repository writable for you (its .git included)",
    ),
)


def _hint_for(reason: str) -> str:
    for words, hint in _SYSTEM_HINTS:
        if any(word in reason for word in words):
            return f"{hint}, then rerun"
    return "fix what git reports, then rerun"


def _verb(args: tuple[str, ...]) -> str:
    """The git subcommand, past any `-c key=value` options."""
    words = iter(args)
    for word in words:
        if word == "-c":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return args[0] if args else "git"


def git_reason(result: subprocess.CompletedProcess[str]) -> str:
    """git's own words for a failure: its first `error:`/`fatal:` line (the cause; later ones
    are consequences), with the paths git lists under it, else its last line."""
    raw = (result.stderr or result.stdout).splitlines()
    for number, line in enumerate(raw):
        if line.strip().startswith(("fatal:", "error:")):
            named = [item.strip() for item in takewhile(_listed, raw[number + 1 :])]
            reason = line.strip()
            if named and reason.endswith(":"):
                reason = f"{reason} {', '.join(named)}"
            return shown(reason)
    lines = [line.strip() for line in raw if line.strip()]
    return shown((lines or [f"exit code {result.returncode}"])[-1])


def _listed(line: str) -> bool:
    """A path git lists under an error, indented by a tab."""
    return line.startswith("\t")


def shown(name: str) -> str:
    """A path (or text) git gave, printable: bytes that are not UTF-8 appear as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def git_out(cwd: Path, *args: str) -> str | None:
    """git's stdout, stripped; None when git fails (for questions, not steps)."""
    result = git(cwd, *args, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def identity_args(answers: Mapping[str, Any]) -> tuple[str, ...]:
    """Commit as the project's author, never depending on the machine's git config."""
    return (
        "-c",
        f"user.name={answers['author_name']}",
        "-c",
        f"user.email={answers['author_email']}",
        "-c",
        "commit.gpgsign=false",
    )


def stage_exactly(repo: Path, root: Path, files: Iterable[str], index: Path | None = None) -> None:
    """Stage exactly `files` (relative to root) into repo's index, or into `index`.

    --force ignores every ignore rule; literal pathspecs keep names like `[x]` or `*` as they are.
    """
    env = dict(LITERAL_PATHS)
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    git(
        repo,
        f"--work-tree={root}",
        "add",
        "--force",
        "--pathspec-from-file=-",
        "--pathspec-file-nul",
        env=env,
        stdin="".join(f"{name}\0" for name in files),
    )


def tree_of(repo: Path, root: Path, files: Iterable[str]) -> str:
    """Store root's `files` in repo's object database; return the tree id. Touches no index,
    no work tree and no ref of the repository."""
    with interrupts.scratch_directory("scaffold-index-") as scratch:
        index = scratch / "index"
        stage_exactly(repo, root, files, index)
        return git(repo, "write-tree", env={"GIT_INDEX_FILE": str(index)}).stdout.strip()


def init_repository(
    cwd: Path, files: Iterable[str], answers: Mapping[str, Any], message: str
) -> None:
    """Commit exactly `files` on the template branch and start main from that commit."""
    git(cwd, "init", "--quiet", f"--initial-branch={TEMPLATE_BRANCH}")
    stage_exactly(cwd, cwd, files)
    git(cwd, *NO_HOOKS, *identity_args(answers), "commit", "--quiet", "--no-verify", "-m", message)
    git(cwd, "checkout", "--quiet", "-b", "main")
