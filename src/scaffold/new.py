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
from scaffold.errors import BadInput
from scaffold.project import RECORD_FILE, Record, init_repository, render_env_file
from scaffold.questions import Answers, Question, resolve_answers
from scaffold.render import layer_names, render_layers, templates_root


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


def render_project(
    target: Path, framework: catalog.Framework, answers: Answers
) -> tuple[Record, tuple[str, ...]]:
    """Render every layer and the record into target (an existing empty directory)."""
    layers = layer_names(framework.name)
    data = catalog.template_data(framework, answers)
    owners = render_layers(templates_root(), layers, data, target)
    record = Record(__version__, framework.name, layers, answers)
    (target / RECORD_FILE).write_text(record.to_yaml(), encoding="utf-8")
    return record, tuple(sorted(owners))


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
    check_destination(dest)
    answers = resolve_answers(framework.questions, given, ask)
    check_destination(dest)  # prompts take time; look again before writing
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.scaffold-", dir=dest.parent))
    try:
        _, files = render_project(staging, framework, answers)
        if use_git:
            init_repository(
                staging, answers, f"Render {framework.title} project with scaffold {__version__}"
            )
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
    return NewProject(dest, framework, answers, files)
