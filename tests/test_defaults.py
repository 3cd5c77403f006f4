"""Defaults a new user expects: the project is named after its directory, and authored by the
git identity the machine already has."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import generate


def answers(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / ".scaffold.yml").read_text())["answers"]


def git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, email: str) -> None:
    config = tmp_path / "gitconfig"
    config.write_text(f"[user]\n\tname = {name}\n\temail = {email}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))


@pytest.mark.parametrize(
    ("directory", "package"),
    [("bookshop", "bookshop"), ("my-shop", "my_shop"), ("2048", "app_2048")],
)
def test_the_directory_names_the_project_and_package(
    directory: str, package: str, tmp_path: Path
) -> None:
    project = generate(tmp_path / directory, "flask")
    assert answers(project)["project_name"] == directory
    assert answers(project)["package"] == package
    assert (project / package / "__init__.py").is_file()


def test_data_wins_over_the_directory_name(tmp_path: Path) -> None:
    project = generate(tmp_path / "bookshop", "flask", "project_name=Book Shop", "package=books")
    assert answers(project)["project_name"] == "Book Shop"
    assert answers(project)["package"] == "books"


def test_the_author_comes_from_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git_identity(tmp_path, monkeypatch, "Ada Lovelace", "ada@example.org")
    project = generate(tmp_path / "bookshop", "flask")
    assert answers(project)["author_name"] == "Ada Lovelace"
    assert answers(project)["author_email"] == "ada@example.org"
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "Ada Lovelace", email = "ada@example.org"' in pyproject


def test_an_invalid_git_identity_falls_back_to_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_identity(tmp_path, monkeypatch, "Ada \\\\ Countess", "not-an-email")
    project = generate(tmp_path / "bookshop", "flask")
    assert answers(project)["author_name"] == "Your Name"
    assert answers(project)["author_email"] == "you@example.com"
