"""The `kubernetes` answer: deploy/kubernetes/ with the image it runs, refused where SQLite
would have several pods each write its own file, and switched on in an existing project by
`scaffold update`. The manifests themselves are checked in every matrix combination that has
them (test_matrix.check_kubernetes runs the project's own tests/test_kubernetes.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scaffold import catalog
from scaffold.questions import COMMON_QUESTIONS, resolve_answers
from tests.helpers import generate, git, run_cli

MANIFESTS = "deploy/kubernetes/deployment.yaml"


def test_kubernetes_brings_the_dockerfile_whose_image_it_runs(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "database=none", "kubernetes=true")
    assert (project / "Dockerfile").is_file()
    assert (project / MANIFESTS).is_file()
    tracked = git(project, "ls-files").splitlines()
    assert "deploy/kubernetes/secret.env.example" in tracked
    assert "deploy/kubernetes/secret.env" not in tracked
    # The project's own manifest tests, with this interpreter (kubernetes-validate is a test
    # dependency here), as its CI runs them with its dev extra.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--no-cov", "--noconftest", "-p",
         "no:cacheprovider", "tests/test_kubernetes.py"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]


def test_kubernetes_with_sqlite_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    args = ["new", str(dest), "--framework", "flask", "--defaults"]
    result = run_cli(*args, "--data", "database=sqlite", "--data", "kubernetes=true")
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("scaffold: error: kubernetes=true cannot go with database=sqlite")
    assert not dest.exists()


def test_names_are_dns_labels_and_the_validator_is_a_test_dependency() -> None:
    questions = (*COMMON_QUESTIONS, *catalog.get("flask").options)
    given = {"package": "shop_admin_", "database": "postgresql", "kubernetes": "yes"}
    data = catalog.template_data(catalog.get("flask"), resolve_answers(questions, given))
    assert data["kubernetes_name"] == "shop-admin"
    assert data["deploy_dev_dependencies"] == ["kubernetes-validate>=1.33", "types-PyYAML>=6.0"]
    cluster = {var["name"]: var for var in data["env_vars"]}
    assert cluster["DATABASE_URL"]["cluster_secret"] is True
    assert cluster["FORWARDED_ALLOW_IPS"]["cluster_value"] == "*"
    assert cluster["GUNICORN_BIND"]["cluster_value"] == "0.0.0.0:8000"


def test_update_switches_kubernetes_on_in_an_existing_project(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "database=postgresql")
    assert not (project / MANIFESTS).exists()
    result = run_cli("update", str(project), "--data", "kubernetes=true")
    assert result.exit_code == 0, result.output
    assert (project / MANIFESTS).is_file() and (project / "Dockerfile").is_file()
    assert git(project, "status", "--porcelain") == ""
    assert "kubernetes-validate" in (project / "pyproject.toml").read_text()
