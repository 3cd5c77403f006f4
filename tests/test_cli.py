"""The CLI contract that CI scripts and later commands rely on."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scaffold import __version__, catalog
from tests.helpers import run_cli


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize("command", [[], ["list"], ["recommend"], ["new"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_list_json_is_the_catalog() -> None:
    rows = json.loads(run_cli("list", "--json").output)
    assert [row["name"] for row in rows] == list(catalog.names())
    assert all(row["summary"] and row["traits"] for row in rows)


def test_list_text_names_every_framework() -> None:
    output = run_cli("list").output
    for name in catalog.names():
        assert name in output


def test_recommend_non_interactive_json() -> None:
    result = run_cli("recommend", "--kind", "api", "--speed", "--json")
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["pick"] == "falcon"
    assert body["runner_up"] == "sanic"
    assert body["needs"]["speed"] is True
    assert "because" in body["why"]


def test_recommend_text_names_the_next_step() -> None:
    result = run_cli("recommend", "--kind", "site", "--batteries")
    assert "Recommended: Django" in result.output
    assert "scaffold new my-project --framework django" in result.output


def test_recommend_rejects_a_bad_choice() -> None:
    result = run_cli("recommend", "--kind", "blog")
    assert result.exit_code == 2


def test_new_without_framework_and_without_a_tty_is_a_usage_error(tmp_path) -> None:
    result = run_cli("new", str(tmp_path / "p"), "--defaults")
    assert result.exit_code == 2
    assert "--framework is required" in result.output
    assert not (tmp_path / "p").exists()


def test_python_dash_m_and_fast_help() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "scaffold", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage:" in result.stdout
    assert "copier" not in result.stderr  # copier is never imported by the CLI
    assert "jinja2" not in result.stderr  # rendering modules load lazily
