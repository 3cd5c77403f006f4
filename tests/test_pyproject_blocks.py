"""Every framework's pyproject.toml shares its build, test, coverage and lint setup, block for
block. Copier's `!include` cannot reach across layers, so each layer keeps its own copy and this
test keeps the copies identical."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from scaffold import catalog
from scaffold.questions import resolve_answers
from scaffold.render import render_layer
from tests.helpers import TEMPLATES, available_frameworks

# The tables every framework shares: [build-system], [tool.pytest.ini_options],
# [tool.coverage.*] and [tool.ruff] with its sub-tables.
SHARED = (
    ("build-system",),
    ("tool", "pytest", "ini_options"),
    ("tool", "coverage"),
    ("tool", "ruff"),
)
# The only differences allowed, each one key a framework adds to a shared table, and why.
ADDITIONS: dict[str, dict[tuple[str, ...], Any]] = {
    "django": {
        # pytest-django reads the settings module from here (or the environment, or --ds).
        ("tool", "pytest", "ini_options", "DJANGO_SETTINGS_MODULE"): "my_project.settings.dev",
        # flake8-django's rules: Django's own pitfalls, meaningless for the other frameworks.
        ("tool", "ruff", "lint", "extend-select"): ["DJ"],
    },
    "aiohttp": {
        # pytest-aiohttp's fixtures run on pytest-asyncio's loop, which reads its mode here.
        ("tool", "pytest", "ini_options", "asyncio_mode"): "auto",
        ("tool", "pytest", "ini_options", "asyncio_default_fixture_loop_scope"): "function",
    },
}


def rendered_pyproject(framework: str, dest: Path) -> dict[str, Any]:
    fw = catalog.get(framework)
    data = catalog.template_data(fw, resolve_answers(fw.questions, {}))
    render_layer(TEMPLATES / framework, data, dest)
    return tomllib.loads((dest / "pyproject.toml").read_text())


def shared_blocks(framework: str, pyproject: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """The shared tables, with the framework's allowed additions checked and taken out."""
    for path, expected in ADDITIONS.get(framework, {}).items():
        table = dig(pyproject, path[:-1])
        assert table.get(path[-1]) == expected, (framework, ".".join(path))
        del table[path[-1]]
    return {table: dig(pyproject, table) for table in SHARED}


def dig(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def test_the_shared_pyproject_blocks_are_identical_in_every_framework(tmp_path: Path) -> None:
    frameworks = available_frameworks()
    assert len(frameworks) >= 2
    blocks = {
        name: shared_blocks(name, rendered_pyproject(name, tmp_path / name)) for name in frameworks
    }
    first = frameworks[0]
    differing = [
        f"{name} [{'.'.join(table)}] differs from {first}'s"
        for name in frameworks[1:]
        for table in SHARED
        if blocks[name][table] != blocks[first][table]
    ]
    assert not differing, "\n".join(differing)


@pytest.mark.parametrize("framework", available_frameworks())
def test_the_shared_blocks_configure_what_the_generated_project_relies_on(
    framework: str, tmp_path: Path
) -> None:
    blocks = shared_blocks(framework, rendered_pyproject(framework, tmp_path))
    assert blocks[("build-system",)]["build-backend"] == "hatchling.build"
    assert blocks[("tool", "coverage")]["report"]["fail_under"] == 90
    assert blocks[("tool", "coverage")]["run"]["source"] == ["my_project"]
    ruff = blocks[("tool", "ruff")]
    assert ruff["target-version"] == "py311"  # the default python_version, 3.11
    assert ruff["lint"]["ignore"] == ["E501"]  # ruff format owns line length
