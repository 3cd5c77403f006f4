"""The Falcon layer: one template, two interfaces (WSGI and ASGI), generated and exercised."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scaffold import catalog
from scaffold.questions import resolve_answers
from scaffold.render import render_layer
from tests.helpers import TEMPLATES, generate, make_venv, run_cli, tree_snapshot

INTERFACES = ("wsgi", "asgi")


def falcon_data(**given: str) -> dict:
    falcon = catalog.get("falcon")
    return catalog.template_data(falcon, resolve_answers(falcon.questions, given))


@pytest.fixture(scope="module", params=INTERFACES)
def falcon_project(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    interface = request.param
    project = generate(
        tmp_path_factory.mktemp(f"falcon-{interface}") / "inventory",
        "falcon",
        f"interface={interface}",
        "project_name=Inventory",
    )
    return interface, project, make_venv(project)


def test_the_interface_picks_the_worker_class_and_its_dependencies() -> None:
    wsgi, asgi = falcon_data(interface="wsgi"), falcon_data(interface="asgi")
    assert wsgi["worker_class"] == catalog.WORKER_CLASSES["wsgi"]
    assert asgi["worker_class"] == catalog.WORKER_CLASSES["asgi"]
    assert wsgi["worker_class"] != asgi["worker_class"]
    assert wsgi["server_dependencies"] == list(catalog.SERVER_DEPENDENCIES["wsgi"])
    assert asgi["server_dependencies"] == list(catalog.SERVER_DEPENDENCIES["asgi"])
    assert falcon_data()["interface"] == "wsgi"  # the default


def test_every_variable_the_app_reads_is_in_env_example(tmp_path: Path) -> None:
    project = generate(tmp_path / "inventory", "falcon", "project_name=Inventory")
    example = (project / ".env.example").read_text()
    config = (project / "inventory" / "config.py").read_text()
    for name in ("APP_LOG_LEVEL", "APP_API_TOKEN"):
        assert name in config
        assert f"\n{name}=" in example
    token = next(
        line
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("APP_API_TOKEN=")
    )
    assert len(token.partition("=")[2]) == 64  # a fresh secret, only in the untracked .env


@pytest.mark.parametrize("bad", ["tornado", "ASGI ", "wsgi,asgi", ""])
def test_a_bad_interface_is_refused_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    before = sorted(tmp_path.iterdir())
    result = run_cli(
        "new",
        str(tmp_path / "inventory"),
        "--framework",
        "falcon",
        "--defaults",
        "--data",
        f"interface={bad}",
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "interface" in result.output
    assert sorted(tmp_path.iterdir()) == before


def test_one_template_serves_both_interfaces(tmp_path: Path) -> None:
    wsgi, asgi = tmp_path / "wsgi", tmp_path / "asgi"
    for dest in (wsgi, asgi):
        data = falcon_data(interface=dest.name, project_name="Inventory")
        render_layer(TEMPLATES / "falcon", data, dest)
    wsgi_files, asgi_files = tree_snapshot(wsgi), tree_snapshot(asgi)
    # The Falcon layer alone: ASGI adds one native async test, the file list is otherwise the same.
    assert set(asgi_files) - set(wsgi_files) == {"tests/test_asgi_conductor.py"}
    assert set(wsgi_files) <= set(asgi_files)

    assert "app = falcon.App(" in wsgi_files["inventory/app.py"].decode()
    assert "app = falcon.asgi.App(" in asgi_files["inventory/app.py"].decode()
    assert "await req.get_media()" in asgi_files["inventory/hooks.py"].decode()
    # The whole difference: `async`/`await` keywords and falcon.asgi in place of falcon.
    for path, content in wsgi_files.items():
        if path.endswith(".py"):
            assert b"async " not in content, path
            assert as_wsgi(asgi_files[path].decode()) == content.decode(), path


def as_wsgi(source: str) -> str:
    return source.replace("async def", "def").replace("await ", "").replace("falcon.asgi", "falcon")


@pytest.mark.parametrize("interface", INTERFACES)
def test_render_is_deterministic(tmp_path: Path, interface: str) -> None:
    first, second = (
        tree_snapshot(generate(tmp_path / name / "service", "falcon", f"interface={interface}"))
        for name in ("first", "second")
    )
    first.pop(".env"), second.pop(".env")  # fresh secrets by design, untracked
    assert first == second


@pytest.mark.slow
def test_generated_project_passes_its_own_tests(falcon_project) -> None:
    _, project, python = falcon_project
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
def test_generated_project_builds_the_right_app_class(falcon_project) -> None:
    interface, project, python = falcon_project
    code = (
        "import falcon, falcon.asgi; from inventory.app import create_app; app = create_app(); "
        "print(type(app).__module__ + '.' + type(app).__name__)"
    )
    result = subprocess.run(
        [str(python), "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        env={"APP_API_TOKEN": "x", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    expected = "falcon.asgi.app.App" if interface == "asgi" else "falcon.app.App"
    assert result.stdout.strip() == expected


@pytest.mark.slow
def test_generated_project_is_ruff_clean(falcon_project) -> None:
    _, project, python = falcon_project
    ruff = python.parent / "ruff"
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([str(ruff), *args], cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
