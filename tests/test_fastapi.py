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


def settings_variables(config_py: Path) -> list[str]:
    """The variables the generated Settings class reads: APP_<FIELD>, or its validation_alias."""
    tree = ast.parse(config_py.read_text())
    settings = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    variables = []
    for node in settings.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if node.target.id == "model_config":
            continue
        aliases = [
            keyword.value.value
            for call in ast.walk(node)
            if isinstance(call, ast.Call)
            for keyword in call.keywords
            if keyword.arg == "validation_alias" and isinstance(keyword.value, ast.Constant)
        ]
        variables.append(aliases[0] if aliases else f"APP_{node.target.id.upper()}")
    return variables


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
    assert "engine = make_engine(settings.database_url)" in main and "engine.dispose()" in main
    assert main.count("app.include_router(") == 4
    assert "app.add_middleware(OneHopProxyHeaders)" in main
    for area in ("docs", "health", "home", "items"):
        assert "router = APIRouter(" in (package / "routers" / f"{area}.py").read_text()
    items = (package / "routers" / "items.py").read_text()
    assert "response_model=ItemOut" in items and "status.HTTP_201_CREATED" in items
    assert "status.HTTP_204_NO_CONTENT" in items and "Security(require_token)" in items
    assert 'prefix="/api/items"' in items
    dependencies = (package / "dependencies.py").read_text()
    assert "Depends(get_settings)" in dependencies
    assert "SessionDep = Annotated[Session, Depends(get_session)]" in dependencies
    assert "HTTPBearer(" in dependencies and "auto_error=False" in dependencies
    assert "hmac.compare_digest(given, expected)" in dependencies
    config = (package / "config.py").read_text()
    assert "class Settings(BaseSettings)" in config and 'env_prefix="APP_"' in config
    assert "@lru_cache" in config and 'env_file=".env"' in config
    assert 'validation_alias="DATABASE_URL"' in config and "APP_DATABASE_PATH" not in config
    models = (package / "models.py").read_text()
    assert "class Base(DeclarativeBase)" in models and "Mapped[str] = mapped_column(" in models
    assert not (package / "repository.py").exists()
    # Alembic: alembic.ini at the root, the scripts in the package, one initial revision.
    assert "script_location = catalogue:migrations" in (project / "alembic.ini").read_text()
    (revision,) = (package / "migrations" / "versions").glob("*.py")
    assert 'op.create_table(\n        "items"' in revision.read_text()
    assert (
        'join_transaction_mode="create_savepoint"'
        in (project / "tests" / "conftest.py").read_text()
    )
    pyproject = (project / "pyproject.toml").read_text()
    assert '"sqlalchemy>=' in pyproject and '"alembic>=' in pyproject
    assert "strict = true" in pyproject and '"pydantic.mypy"' in pyproject
    assert '"openapi-spec-validator' in pyproject and "fail_under = 90" in pyproject
    for dependency in catalog.SERVER_DEPENDENCIES["asgi"]:
        assert f'"{dependency}"' in pyproject


@pytest.fixture(scope="module")
def accounts_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    project = generate(tmp_path_factory.mktemp("fastapi") / "catalogue", "fastapi", "auth=accounts")
    return project, make_venv(project)


@pytest.mark.slow
def test_generated_accounts_project_passes_its_own_tests_mypy_and_ruff(accounts_project) -> None:
    project, python = accounts_project
    result = run([str(python), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"], project)
    output = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    assert "Required test coverage of 90" in result.stdout and " skipped" not in result.stdout
    mypy = run([str(python.parent / "mypy")], project)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    ruff = str(python.parent / "ruff")
    for args in (["check", "."], ["format", "--check", "."]):
        result = run([ruff, *args], project)
        assert result.returncode == 0, result.stdout + result.stderr


def test_accounts_follow_fastapis_oauth2_password_flow(tmp_path: Path) -> None:
    project = generate(tmp_path / "catalogue", "fastapi", "auth=accounts")
    package = project / "catalogue"
    dependencies = (package / "dependencies.py").read_text()
    assert 'OAuth2PasswordBearer(tokenUrl="/api/token"' in dependencies
    assert "CurrentUser = Annotated[User, Depends(get_current_user)]" in dependencies
    assert "HTTPBearer" not in dependencies and "api_token" not in dependencies
    login = (package / "routers" / "login.py").read_text()
    assert "Annotated[OAuth2PasswordRequestForm, Depends()]" in login
    security = (package / "security.py").read_text()
    assert "algorithms=[ALGORITHM]" in security and 'ALGORITHM = "HS256"' in security
    assert "PasswordHasher()" in security
    # Users and sign-in failures: models, and a second revision after the items one.
    models = (package / "models.py").read_text()
    assert "class User(Base)" in models and "class SignInFailure(Base)" in models
    revisions = sorted(p.name for p in (package / "migrations" / "versions").glob("*.py"))
    assert revisions == ["0001_create_items.py", "0002_create_accounts.py"]
    pyproject = (project / "pyproject.toml").read_text()
    for dependency in ("pyjwt>=", "argon2-cffi>=", "python-multipart>=", "email-validator>="):
        assert f'"{dependency}' in pyproject, dependency
    config = (package / "config.py").read_text()
    assert "secret_key: SecretStr" in config and "api_token" not in config
    example = (project / ".env.example").read_text()
    assert "\nAPP_SECRET_KEY=\n" in example and "APP_API_TOKEN" not in example
    assert "\nAPP_SECRET_KEY=" in (project / ".env").read_text()


def test_without_accounts_nothing_of_them_is_written(tmp_path: Path) -> None:
    project = generate(tmp_path / "catalogue", "fastapi")
    package = project / "catalogue"
    for path in (
        package / "security.py",
        package / "mail.py",
        package / "throttling.py",
        package / "routers" / "users.py",
        package / "routers" / "login.py",
        package / "migrations" / "versions" / "0002_create_accounts.py",
        project / "tests" / "test_users.py",
        project / "tests" / "test_login.py",
        project / "tests" / "test_mail.py",
    ):
        assert not path.exists(), path
    pyproject = (project / "pyproject.toml").read_text()
    assert "pyjwt" not in pyproject and "argon2" not in pyproject
    assert "class User" not in (package / "models.py").read_text()


def test_postgresql_projects_depend_on_psycopg_3(tmp_path: Path) -> None:
    project = generate(tmp_path / "catalogue", "fastapi", "database=postgresql")
    pyproject = (project / "pyproject.toml").read_text()
    for dependency in catalog.DRIVERS["postgresql"]:
        assert f'"{dependency}"' in pyproject
    assert 'default="postgres:///catalogue"' in (project / "catalogue" / "config.py").read_text()


def test_without_a_database_there_is_no_data_layer(tmp_path: Path) -> None:
    project = generate(tmp_path / "catalogue", "fastapi", "database=none")
    package = project / "catalogue"
    for path in (
        project / "alembic.ini",
        package / "migrations",
        package / "models.py",
        package / "database.py",
        package / "routers" / "items.py",
        project / "tests" / "test_items.py",
        project / "tests" / "test_database.py",
    ):
        assert not path.exists(), path
    main = (package / "main.py").read_text()
    assert "items" not in main and "engine" not in main
    pyproject = (project / "pyproject.toml").read_text()
    assert "sqlalchemy" not in pyproject and "alembic" not in pyproject
    assert "sqlalchemy" not in (package / "dependencies.py").read_text()
    assert "DATABASE_URL" not in (project / ".env.example").read_text()


@pytest.mark.parametrize(
    ("database", "auth"),
    [("none", "none"), ("sqlite", "none"), ("postgresql", "none"), ("sqlite", "accounts")],
)
def test_every_setting_is_in_env_example_and_the_catalog(
    tmp_path: Path, database: str, auth: str
) -> None:
    project = generate(
        tmp_path / "catalogue",
        "fastapi",
        "project_name=Catalogue",
        f"database={database}",
        f"auth={auth}",
    )
    variables = settings_variables(project / "catalogue" / "config.py")
    assert variables, "Settings has no fields"
    example = (project / ".env.example").read_text()
    declared = {var.name for var in catalog.get("fastapi").env}
    for name in variables:
        assert f"\n{name}=" in example, name
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
    # The untracked .env holds a fresh APP_API_TOKEN per project; everything else is equal.
    first_env, second_env = first.pop(".env"), second.pop(".env")
    assert b"\nAPP_API_TOKEN=" in first_env and first_env != second_env
    assert first == second
    assert not any(b"{{" in content and path.endswith(".py") for path, content in first.items())
