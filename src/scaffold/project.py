"""A generated project's memory (.scaffold.yml), its secrets (.env) and the git steps on it."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.errors import BadInput, OperationFailed

RECORD_FILE = ".scaffold.yml"
TEMPLATE_BRANCH = "scaffold/template"
GIT_TIMEOUT = 60


@dataclass(frozen=True)
class Record:
    """What .scaffold.yml holds: no secrets, no machine paths."""

    scaffold_version: str
    framework: str
    layers: tuple[str, ...]
    answers: dict[str, Any]

    def to_yaml(self) -> str:
        import yaml

        body = {
            "scaffold_version": self.scaffold_version,
            "framework": self.framework,
            "layers": list(self.layers),
            "answers": dict(self.answers),
        }
        header = "# Written by scaffold; `scaffold update` reads it. Change answers with --data.\n"
        return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)

    @classmethod
    def read(cls, project: Path) -> Record:
        import yaml

        path = project / RECORD_FILE
        if not path.is_file():
            raise BadInput(
                f"{project} is not a scaffold project (no {RECORD_FILE})",
                "run it inside a project made by `scaffold new`",
            )
        try:
            body = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise BadInput(
                f"{path} is not valid YAML ({type(error).__name__})",
                f"restore it with `git checkout -- {RECORD_FILE}`",
            ) from error
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("answers"), dict)
            or not all(isinstance(body.get(key), str) for key in ("scaffold_version", "framework"))
        ):
            raise BadInput(
                f"{path} lacks scaffold_version, framework or answers",
                f"restore it with `git checkout -- {RECORD_FILE}`",
            )
        layers = body.get("layers") or []
        return cls(body["scaffold_version"], body["framework"], tuple(layers), body["answers"])


def render_env_file(env_vars: list[dict[str, Any]]) -> str:
    """The untracked .env: every variable from .env.example, with secrets generated."""
    lines = ["# Local settings and secrets. Never commit this file.\n"]
    for var in env_vars:
        value = secrets.token_urlsafe(48) if var["secret"] else var["example"]
        lines.append(f"# {var['help']}\n{var['name']}={value}\n")
    return "".join(lines)


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in cwd with a fixed identity fallback, so a machine without one still works."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as error:
        raise OperationFailed(
            "git is not installed", "install git (apt-get install git) or pass --no-git"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise OperationFailed(f"git {args[0]} timed out", "check the repository") from error
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise OperationFailed(
            f"git {args[0]} failed: {detail[-1] if detail else result.returncode}",
            "see the git message above",
        )
    return result


def identity_args(answers: dict[str, Any]) -> tuple[str, ...]:
    """Commit as the project's author, never depending on the machine's git config."""
    return (
        "-c",
        f"user.name={answers['author_name']}",
        "-c",
        f"user.email={answers['author_email']}",
        "-c",
        "commit.gpgsign=false",
    )


def commit_all(cwd: Path, answers: dict[str, Any], message: str) -> None:
    git(cwd, "add", "--all")
    git(cwd, *identity_args(answers), "commit", "--quiet", "--no-verify", "-m", message)


def init_repository(cwd: Path, answers: dict[str, Any], message: str) -> None:
    """Commit the pristine render on the template branch and start main from it."""
    git(cwd, "init", "--quiet", f"--initial-branch={TEMPLATE_BRANCH}")
    commit_all(cwd, answers, message)
    git(cwd, "checkout", "--quiet", "-b", "main")
