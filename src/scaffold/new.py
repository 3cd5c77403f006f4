"""The `new` flow: answers -> render(layers) -> temp dir -> git -> rename into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import __version__, catalog
from scaffold.errors import BadInput, OperationFailed, SystemRefused
from scaffold.project import render_env_file
from scaffold.questions import Answers, Question, resolve_answers
from scaffold.render import render_project
from scaffold.repository import NO_HOOKS, TEMPLATE_REF, git, git_out, identity_args


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


def machine_config(where: Path) -> dict[str, str]:
    """git's user.name, user.email and init.templateDir as this machine sets them, from one
    git call; {} without git."""
    try:
        listed = git_out(
            where, "config", "--get-regexp", r"^(user\.(name|email)|init\.templatedir)$"
        )
    except OperationFailed:  # no git: --no-git projects still get the directory's name
        listed = None
    found = {}
    for line in (listed or "").splitlines():
        key, _, value = line.partition(" ")
        found[key] = value
    return found


def machine_defaults(
    dest: Path, questions: tuple[Question, ...], config: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults a user expects from this machine: the project is named after its directory (as
    `startproject` and cookiecutter do) and authored by git's user.name/user.email, each only
    where it is a valid answer. `config` is machine_config's answer, when already asked."""
    config = machine_config(dest.parent) if config is None else config
    found: dict[str, Any] = {"project_name": dest.name}
    for key, answer in (("user.name", "author_name"), ("user.email", "author_email")):
        if key in config:
            found[answer] = config[key]
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
        config = machine_config(dest.parent)
        defaults = machine_defaults(dest, framework.questions, config)
        answers = resolve_answers(framework.questions, given, ask, defaults)
        check_destination(dest)  # prompts take time; look again before writing
        # git's sample hooks cost `new` ~10 ms to copy and serve nobody; a template directory
        # the user chose (init.templateDir, GIT_TEMPLATE_DIR) is still honoured.
        chosen = "init.templatedir" in config or "GIT_TEMPLATE_DIR" in os.environ
        files = _write_project(dest, framework, answers, use_git, git_templates=chosen)
    except OSError as error:
        raise SystemRefused.from_os_error(error, f"create the project in {dest}") from error
    return NewProject(dest, framework, answers, files)


def init_repository(
    cwd: Path,
    files: Iterable[str],
    answers: Mapping[str, Any],
    message: str,
    git_templates: bool = True,
) -> None:
    """Commit exactly `files` on the template branch and start main from the same commit.

    The same result as repository.init_repository, in cheaper git steps: `update-index --add`
    stages exactly the listed paths and consults no ignore rule; `write-tree` and
    `commit-tree` commit as the project's author and run no hook; one `update-ref` transaction
    creates both branches (HEAD is main from `git init` on). Without `git_templates`, git
    copies no sample hooks into .git; only the (empty) info/exclude users expect is made."""
    init = ["init", "--quiet", "--initial-branch=main"]
    git(cwd, *init, *([] if git_templates else ["--template="]))
    if not git_templates:
        (cwd / ".git" / "info").mkdir(exist_ok=True)
        (cwd / ".git" / "info" / "exclude").write_text(
            "# Ignore patterns for this clone only, one per line (see `git help gitignore`).\n",
            encoding="utf-8",
        )
    git(cwd, "update-index", "--add", "-z", "--stdin", stdin="".join(f"{f}\0" for f in files))
    tree = git(cwd, "write-tree").stdout.strip()
    commit = git(cwd, *identity_args(answers), "commit-tree", tree, "-m", message).stdout.strip()
    refs = f"create {TEMPLATE_REF} {commit}\ncreate refs/heads/main {commit}\n"
    git(cwd, *NO_HOOKS, "update-ref", "-m", "scaffold new", "--stdin", stdin=refs)


def _write_project(
    dest: Path,
    framework: catalog.Framework,
    answers: Answers,
    use_git: bool,
    git_templates: bool = True,
) -> tuple[str, ...]:
    """Render, commit and write .env in a staging directory, then rename it into place; on any
    failure (a full disk, Ctrl-C) remove the staging directory, so nothing is left behind."""
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.scaffold-", dir=dest.parent))
    try:
        rendered = render_project(staging, framework, answers)
        if use_git:
            message = f"Render {framework.title} project with scaffold {__version__}"
            init_repository(staging, rendered.tracked, answers, message, git_templates)
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
