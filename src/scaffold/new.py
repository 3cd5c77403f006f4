"""The `new` flow: answers -> render(layers) -> temp dir -> git -> rename into place."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import __version__, catalog
from scaffold.errors import BadInput, OperationFailed, SystemRefused
from scaffold.project import render_env_file
from scaffold.questions import Answers, Question, resolve_answers
from scaffold.render import layer_names, render_project, templates_source
from scaffold.repository import (
    GIT_TIMEOUT,
    NO_HOOKS,
    TEMPLATE_REF,
    git,
    git_out,
    git_reason,
    identity_args,
)


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


class StagedRepository:
    """The git repository of a project being rendered: `git init` runs while the first files
    render, and `git update-index --add` stages each file as soon as it is written, so git
    works on the other core while Python renders. Then commit() makes the commit.

    Stages exactly the files it is told about: update-index consults no ignore rule (the same
    guarantee as `add --force` with literal paths), and commit() refuses any other set.
    """

    def __init__(self, cwd: Path, answers: Mapping[str, Any], message: str, samples: bool):
        self.cwd = cwd
        self.answers = answers
        self.message = message
        self.samples = samples
        self._pending: list[str] = []
        self._staged: set[str] = set()
        self._index: subprocess.Popen[bytes] | None = None
        template = [] if samples else ["--template="]
        self._init: subprocess.Popen[bytes] | None = self._start(
            "init", "--quiet", "--initial-branch=main", *template
        )

    def _start(self, *args: str, stdin: bool = False) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                ["git", *args],
                cwd=self.cwd,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError as error:
            raise OperationFailed(
                "git is not installed", "install git (apt-get install git) or pass --no-git"
            ) from error

    @staticmethod
    def _finish(process: subprocess.Popen[bytes], verb: str) -> None:
        try:
            _, err = process.communicate(timeout=GIT_TIMEOUT)
        except subprocess.TimeoutExpired as error:
            raise OperationFailed(f"git {verb} timed out", "check the disk and rerun") from error
        if process.returncode != 0:
            done = subprocess.CompletedProcess(
                process.args, process.returncode, "", err.decode("utf-8", "replace")
            )
            raise OperationFailed(
                f"git {verb} failed: {git_reason(done)}", "see the git message above"
            )

    def _start_index(self) -> subprocess.Popen[bytes]:
        if self._init is not None:
            init, self._init = self._init, None
            self._finish(init, "init")
        if not self.samples:  # git copied nothing; make the one file users expect to edit
            (self.cwd / ".git" / "info").mkdir(exist_ok=True)
            (self.cwd / ".git" / "info" / "exclude").write_text(
                "# Ignore patterns for this clone only, one per line (see `git help gitignore`).\n",
                encoding="utf-8",
            )
        self._index = self._start("update-index", "--add", "-z", "--stdin", stdin=True)
        return self._index

    def stage(self, path: str) -> None:
        """Stage path (relative, complete on disk) now, or as soon as `git init` is done."""
        self._pending.append(path)
        if self._index is None and self._init is not None and self._init.poll() is not None:
            self._start_index()
        if self._index is not None:
            self._send(self._index)

    def _send(self, index: subprocess.Popen[bytes]) -> None:
        if self._pending and index.stdin is not None:
            try:
                index.stdin.write(b"".join(os.fsencode(name) + b"\0" for name in self._pending))
                index.stdin.flush()
            except BrokenPipeError:  # update-index stopped: _finish reports git's reason
                pass
            self._staged.update(self._pending)
            self._pending.clear()

    def commit(self, files: Iterable[str]) -> None:
        """Commit exactly `files` on the template branch and start main from the same commit:
        write-tree, commit-tree as the project's author (no hook, no auto-maintenance) and one
        update-ref transaction for both branches, hooks off. HEAD is main from `git init` on."""
        wanted = set(files)
        self._pending += sorted(wanted - self._staged - set(self._pending))
        index = self._index or self._start_index()
        self._send(index)
        self._finish(index, "update-index")  # closes its stdin: the list is complete
        self._index = None
        if self._staged != wanted:
            raise OperationFailed("scaffold staged other files than it rendered", "report a bug")
        tree = git(self.cwd, "write-tree").stdout.strip()
        commit = git(
            self.cwd, *identity_args(self.answers), "commit-tree", tree, "-m", self.message
        ).stdout.strip()
        refs = f"create {TEMPLATE_REF} {commit}\ncreate refs/heads/main {commit}\n"
        git(self.cwd, *NO_HOOKS, "update-ref", "-m", "scaffold new", "--stdin", stdin=refs)

    def abort(self) -> None:
        """Stop the git still running (init or update-index), so the directory can go."""
        for process in (self._init, self._index):
            if process is None:
                continue
            if process.poll() is None:
                process.kill()
            try:
                process.communicate()
            except (OSError, ValueError):  # its pipes were already closed
                process.wait()
        self._init = self._index = None


def init_repository(
    cwd: Path, answers: Mapping[str, Any], message: str, samples: bool = True
) -> StagedRepository:
    """Start the project's repository in cwd (see StagedRepository); `samples=False` skips
    git's sample hooks."""
    return StagedRepository(cwd, answers, message, samples)


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
    repository = None
    try:
        if use_git:
            message = (
                f"Render {framework.title} project with scaffold {__version__}\n\n"
                f"Scaffold-Templates: {templates_source(layer_names(framework.name))}"
            )
            repository = init_repository(staging, answers, message, git_templates)
        stage = repository.stage if repository is not None else None
        rendered = render_project(staging, framework, answers, written_file=stage)
        if repository is not None:
            repository.commit(rendered.tracked)
        env_vars = catalog.template_data(framework, answers)["env_vars"]
        (staging / ".env").write_text(render_env_file(env_vars), encoding="utf-8")
        (staging / ".env").chmod(0o600)
        staging.chmod(0o755)
        if dest.is_dir():
            dest.rmdir()  # an empty directory the user made for us; rename needs it gone
        os.rename(staging, dest)
    except BaseException:
        if repository is not None:
            repository.abort()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return rendered.files
