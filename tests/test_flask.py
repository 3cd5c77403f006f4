"""The Flask layer, generated and exercised the way its user would."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import generate, make_venv


@pytest.fixture(scope="module")
def flask_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    project = generate(tmp_path_factory.mktemp("flask") / "shop", "flask")
    return project, make_venv(project)


@pytest.mark.slow
def test_generated_flask_project_passes_its_own_tests(flask_project) -> None:
    project, python = flask_project
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Required test coverage of 90" in result.stdout


@pytest.mark.slow
def test_generated_flask_project_is_ruff_clean(flask_project) -> None:
    project, python = flask_project
    ruff = python.parent / "ruff"
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([str(ruff), *args], cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_flask_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "project_name=Shop")
    init = (project / "shop" / "__init__.py").read_text()
    assert "def create_app(config" in init
    assert "ProxyFix(app.wsgi_app, x_for=1, x_proto=1)" in init
    assert "register_blueprint" in init
    assert '{% extends "base.html" %}' in (project / "shop/templates/about.html").read_text()
    assert "FLASK_SECRET_KEY=" in (project / ".env.example").read_text()
