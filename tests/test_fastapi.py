"""The FastAPI layer, generated and exercised the way its user would."""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from scaffold import catalog
from tests.helpers import generate, make_venv, tree_snapshot

AWKWARD_NAME = "Bob's Shop & Co"


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def settings_fields(config_py: Path) -> list[str]:
    """The field names of the generated Settings class, read from its source."""
    tree = ast.parse(config_py.read_text())
    settings = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    return [
        node.target.id
        for node in settings.body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id != "model_config"
    ]


def fastapi_call_keywords(main_py: Path) -> dict[str, ast.expr]:
    """The keyword arguments of `app = FastAPI(...)` in the generated main.py."""
    for node in ast.parse(main_py.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name) and func.id == "FastAPI":
                return {kw.arg: kw.value for kw in node.value.keywords if kw.arg}
    raise AssertionError("main.py has no `app = FastAPI(...)`")


@pytest.fixture(scope="module")
def fastapi_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Installed, and named with an apostrophe and an ampersand: its own OpenAPI test then
    proves at runtime that the title reads as written."""
    project = generate(
        tmp_path_factory.mktemp("fastapi") / "catalogue", "fastapi", f"project_name={AWKWARD_NAME}"
    )
    return project, make_venv(project)


@pytest.mark.slow
def test_generated_fastapi_project_passes_its_own_tests(fastapi_project) -> None:
    project, python = fastapi_project
    result = run([str(python), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"], project)
    output = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    assert "Required test coverage of 90" in result.stdout
    # The proxy-header test must really run against deploy/gunicorn.conf.py, not skip.
    assert re.search(r"\b\d+ passed\b", result.stdout) and " skipped" not in result.stdout, output


@pytest.mark.slow
def test_generated_fastapi_project_is_mypy_strict_clean(fastapi_project) -> None:
    project, python = fastapi_project
    result = run([str(python.parent / "mypy")], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


@pytest.mark.slow
def test_generated_fastapi_project_is_ruff_clean_and_leaves_git_clean(fastapi_project) -> None:
    project, python = fastapi_project
    ruff = str(python.parent / "ruff")
    for args in (["check", "."], ["format", "--check", "."]):
        result = run([ruff, *args], project)
        assert result.returncode == 0, result.stdout + result.stderr
    # Installing, testing and linting leave nothing untracked or modified behind.
    status = run(["git", "status", "--porcelain"], project)
    assert status.returncode == 0 and status.stdout == "", status.stdout


def test_fastapi_idioms_are_present(tmp_path: Path) -> None:
    project = generate(tmp_path / "catalogue", "fastapi", "project_name=Catalogue")
    package = project / "catalogue"
    main = (package / "main.py").read_text()
    assert "lifespan=lifespan" in main and "@asynccontextmanager" in main
    assert main.count("app.include_router(") == 4
    assert "app.add_middleware(OneHopProxyHeaders)" in main
    for area in ("docs", "health", "home", "items"):
        assert "router = APIRouter(" in (package / "routers" / f"{area}.py").read_text()
    items = (package / "routers" / "items.py").read_text()
    assert "response_model=Item" in items and "status.HTTP_201_CREATED" in items
    assert "status.HTTP_204_NO_CONTENT" in items
    dependencies = (package / "dependencies.py").read_text()
    assert "Depends(get_settings)" in dependencies and "Depends(get_repository)" in dependencies
    config = (package / "config.py").read_text()
    assert "class Settings(BaseSettings)" in config and 'env_prefix="APP_"' in config
    assert "@lru_cache" in config and 'env_file=".env"' in config
    assert "class ItemRepository(Protocol)" in (package / "repository.py").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    assert "strict = true" in pyproject and '"pydantic.mypy"' in pyproject
    assert '"openapi-spec-validator' in pyproject and "fail_under = 90" in pyproject
    for dependency in catalog.SERVER_DEPENDENCIES["asgi"]:
        assert f'"{dependency}"' in pyproject


def test_every_setting_is_in_env_example_and_the_catalog(tmp_path: Path) -> None:
    project = generate(tmp_path / "catalogue", "fastapi", "project_name=Catalogue")
    fields = settings_fields(project / "catalogue" / "config.py")
    assert fields, "Settings has no fields"
    example = (project / ".env.example").read_text()
    declared = {var.name for var in catalog.get("fastapi").env}
    for field in fields:
        name = f"APP_{field.upper()}"
        assert f"\n{name}=" in example
        assert name in declared


def test_catalog_serving_facts_match_the_template(tmp_path: Path) -> None:
    project = generate(tmp_path / "catalogue", "fastapi", "project_name=Catalogue")
    fastapi = catalog.get("fastapi")
    answers = {"package": "catalogue"}
    module, _, attribute = fastapi.fill(fastapi.app_entry, answers).partition(":")
    assert f"\n{attribute} = FastAPI(" in (project / (module.replace(".", "/") + ".py")).read_text()
    assert fastapi.interface == "asgi"
    static_dir = project / fastapi.fill(fastapi.static_dir, answers)
    assert (static_dir / fastapi.static_probe).is_file()
    assert fastapi.fill(fastapi.dev_command, answers) == "uvicorn catalogue.main:app --reload"


def test_answers_with_quotes_render_to_valid_python(tmp_path: Path) -> None:
    name, description = "Bob's Ünï Shop & <Co>", "Say 'hi' then <nothing> at 100%"
    project = generate(
        tmp_path / "shop",
        "fastapi",
        f"project_name={name}",
        f"description={description}",
        "package=shop",
    )
    keywords = fastapi_call_keywords(project / "shop" / "main.py")
    assert ast.literal_eval(keywords["title"]) == name
    assert ast.literal_eval(keywords["description"]) == description
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == description
    for test_file in (project / "tests").glob("*.py"):
        ast.parse(test_file.read_text(), str(test_file))


def test_the_title_reads_as_written(tmp_path: Path) -> None:
    """Not as JSON escapes: Jinja's tojson writes "Bob\\u0027s Shop \\u0026 Co", valid Python
    that nobody would write. The answer validators refuse " and \\, so plain quotes are safe."""
    project = generate(tmp_path / "shop", "fastapi", f"project_name={AWKWARD_NAME}", "package=shop")
    main = project / "shop" / "main.py"
    assert f'    title="{AWKWARD_NAME}",\n' in main.read_text()
    assert ast.literal_eval(fastapi_call_keywords(main)["title"]) == AWKWARD_NAME
    # The project's own tests expect that title in its OpenAPI document and home page.
    assert f'"title": "{AWKWARD_NAME}",' in (project / "tests" / "test_app.py").read_text()
    assert f'"name": "{AWKWARD_NAME}",' in (project / "tests" / "test_home.py").read_text()
    for path in project.rglob("*.py"):
        assert "\\u00" not in path.read_text(), path


def test_fastapi_render_is_deterministic(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = tree_snapshot(generate(tmp_path / "a" / "catalogue", "fastapi"))
    second = tree_snapshot(generate(tmp_path / "b" / "catalogue", "fastapi"))
    assert first == second
    assert not any(b"{{" in content and path.endswith(".py") for path, content in first.items())
