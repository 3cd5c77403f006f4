"""The machine's ignore rules never decide what a render holds.

A user's `.git/info/exclude`, a global `core.excludesFile` and the template's own `.gitignore`
must not drop a template file from the template branch: a dropped file is deleted from the
user's branch by the next merge, with exit 0.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scaffold.update import update_project
from tests.conftest import TEMPLATES, generate, git_out


def tracked(project: Path) -> set[str]:
    return set(git_out(project, "ls-files").splitlines())


@pytest.fixture
def global_excludes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A global gitignore, as a user's ~/.config/git/ignore would be."""
    config = tmp_path / "gitconfig"
    excludes = tmp_path / "global-ignore"
    config.write_text(f"[core]\n\texcludesFile = {excludes}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    return excludes


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    monkeypatch.setenv("SCAFFOLD_TEMPLATES", str(copy))
    return copy


def test_update_keeps_files_the_users_info_exclude_matches(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    before = tracked(project)
    assert "deploy/nginx/shop.conf" in before
    (project / ".git" / "info" / "exclude").write_text("*.conf\n")

    result = update_project(project)

    assert result.removed == []
    assert tracked(project) == before
    assert (project / "deploy" / "nginx" / "shop.conf").is_file()


def test_update_keeps_files_a_global_gitignore_matches(
    tmp_path: Path, global_excludes: Path
) -> None:
    project = generate(tmp_path / "shop", "flask")
    before = tracked(project)
    global_excludes.write_text("*.socket\n*.service\n")

    result = update_project(project)

    assert result.status == "up-to-date", result
    assert tracked(project) == before
    assert git_out(project, "status", "--porcelain") == ""


def test_new_commits_files_a_global_gitignore_matches(
    tmp_path: Path, global_excludes: Path
) -> None:
    global_excludes.write_text("*.socket\n")
    project = generate(tmp_path / "shop", "flask")
    assert "deploy/systemd/shop.socket" in tracked(project)
    assert git_out(project, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_template_file_its_own_gitignore_matches_is_delivered(
    tmp_path: Path, templates: Path
) -> None:
    """`*.log` is in the generated .gitignore; a template may still ship a .log file on
    purpose, and both new and update must deliver it."""
    shipped = templates / "base" / "template" / "docs" / "example.log"
    shipped.parent.mkdir(parents=True)
    shipped.write_text("a sample log line\n")
    project = generate(tmp_path / "shop", "flask")
    assert "docs/example.log" in tracked(project)

    added = templates / "base" / "template" / "docs" / "second.log"
    added.write_text("another\n")
    result = update_project(project)
    assert "docs/second.log" in result.added
    assert "docs/second.log" in tracked(project)
