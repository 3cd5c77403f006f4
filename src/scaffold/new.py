"""The `new` flow: answers -> render(layers) -> temp dir -> git -> rename into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import __version__, catalog
from scaffold.errors import BadInput, OperationFailed, SystemRefused
from scaffold.project import render_env_file
from scaffold.questions import Answers, Question, resolve_answers
from scaffold.render import render_project
from scaffold.repository import git_out, init_repository


@dataclass(frozen=True)
class NewProject:
    path: Path
    framework: catalog.Framework
    answers: Answers
    files: tuple[str, ...]


def check_destination(dest: Path) -> None:
    """Refuse a destination we could not fill cleanly, before anything is written."""
    if dest.is_symlink():
        raise BadInput(f"{dest} is a symlink", "pass a plain directory path")
    if dest.exists():
        if not dest.is_dir():
            raise BadInput(f"{dest} exists and is a file", "choose a new directory name")
        if any(dest.iterdir()):
            raise BadInput(f"{dest} exists and is not empty", "choose a new or empty directory")
    parent = dest.parent
    if not parent.is_dir():
        raise BadInput(f"{parent} does not exist", f"create it first: mkdir -p {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"{parent} is not writable", "choose a directory you can write to")


def machine_defaults(dest: Path, questions: tuple[Question, ...]) -> dict[str, Any]:
    """Defaults a user expects from this machine: the project is named after its directory (as
    `startproject` and cookiecutter do) and authored by git's user.name/user.email, each only
    where it is a valid answer."""
    found: dict[str, Any] = {"project_name": dest.name}
    try:
        listed = git_out(dest.parent, "config", "--get-regexp", r"^user\.(name|email)$")
    except OperationFailed:  # no git: --no-git projects still get the directory's name
        listed = None
    for line in (listed or "").splitlines():
        key, _, value = line.partition(" ")
        found[{"user.name": "author_name", "user.email": "author_email"}[key]] = value
    valid = {}
    for question in questions:
        if question.name in found:
            try:
                valid[question.name] = question.parse(found[question.name])
            except BadInput:
                continue
    return valid


def create_project(
    dest: Path,
    framework_name: str,
    given: Mapping[str, Any],
    ask: Callable[[Question, Any], Any] | None = None,
    use_git: bool = True,
) -> NewProject:
    """Create the project at dest atomically: complete, or nothing at all."""
    framework = catalog.get(framework_name)
    dest = Path(os.path.abspath(dest))
    try:
        check_destination(dest)
        defaults = machine_defaults(dest, framework.questions)
        answers = resolve_answers(framework.questions, given, ask, defaults)
        check_destination(dest)  # prompts take time; look again before writing
        files = _write_project(dest, framework, answers, use_git)
    except OSError as error:
        raise SystemRefused.from_os_error(error, f"create the project in {dest}") from error
    return NewProject(dest, framework, answers, files)


def _write_project(
    dest: Path, framework: catalog.Framework, answers: Answers, use_git: bool
) -> tuple[str, ...]:
    """Render, commit and write .env in a staging directory, then rename it into place; on any
    failure (a full disk, Ctrl-C) remove the staging directory, so nothing is left behind."""
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.scaffold-", dir=dest.parent))
    try:
        rendered = render_project(staging, framework, answers)
        if use_git:
            message = f"Render {framework.title} project with scaffold {__version__}"
            init_repository(staging, rendered.tracked, answers, message)
        env_vars = catalog.template_data(framework, answers)["env_vars"]
        (staging / ".env").write_text(render_env_file(env_vars), encoding="utf-8")
        (staging / ".env").chmod(0o600)
        staging.chmod(0o755)
        if dest.is_dir():
            dest.rmdir()  # an empty directory the user made for us; rename needs it gone
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return rendered.files
