"""The renderer: Copier-compatible layers, no overwrites between layers, deterministic output."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scaffold import catalog
from scaffold.errors import OperationFailed
from scaffold.questions import resolve_answers
from scaffold.render import render_layer, render_layers, render_project, templates_root
from tests.helpers import TEMPLATES, available_frameworks, tree_snapshot


def default_data(framework: str, **given: str) -> dict:
    fw = catalog.get(framework)
    return catalog.template_data(fw, resolve_answers(fw.questions, given))


@pytest.mark.parametrize("framework", available_frameworks())
def test_each_layer_renders_like_copier_copy(framework: str, tmp_path: Path) -> None:
    """Each layer is a valid Copier template, and copier writes the bytes scaffold writes."""
    copier = pytest.importorskip("copier")
    data = default_data(framework)
    for layer in ("base", framework, "deploy"):
        ours, theirs = tmp_path / f"ours-{layer}", tmp_path / f"copier-{layer}"
        ours.mkdir()
        render_layer(TEMPLATES / layer, data, ours)
        copier.run_copy(
            str(TEMPLATES / layer), theirs, data=data, defaults=True, quiet=True, unsafe=False
        )
        theirs_files = tree_snapshot(theirs)
        theirs_files.pop(".copier-answers.yml", None)
        assert tree_snapshot(ours) == theirs_files, layer


@pytest.mark.parametrize("framework", available_frameworks())
def test_layers_render_standalone_with_pytest_copie(framework: str, copie) -> None:
    """`copier copy templates/<layer>` works on its own with the copier.yml defaults."""
    for layer in ("base", framework, "deploy"):
        result = copie.copy(template_dir=TEMPLATES / layer)
        assert result.exit_code == 0, result.exception
        assert result.project_dir.is_dir()


@pytest.mark.parametrize("framework", available_frameworks())
def test_render_is_deterministic(framework: str, tmp_path: Path) -> None:
    fw = catalog.get(framework)
    answers = resolve_answers(fw.questions, {})
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    render_project(first, fw, answers)
    render_project(second, fw, answers)
    assert tree_snapshot(first) == tree_snapshot(second)
    modes = {p.stat().st_mode & 0o777 for p in first.rglob("*") if p.is_file()}
    assert modes <= {0o644, 0o755}


def test_a_later_layer_may_not_overwrite_an_earlier_one(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    for layer in ("one", "two"):
        (root / layer / "template").mkdir(parents=True)
        (root / layer / "copier.yml").write_text("_subdirectory: template\n")
        (root / layer / "template" / "README.md").write_text(layer)
    with pytest.raises(OperationFailed, match="layer two would overwrite README.md from one"):
        render_layers(root, ("one", "two"), {}, tmp_path / "out")


def test_no_shipped_layer_overwrites_another(tmp_path: Path) -> None:
    for framework in available_frameworks():
        out = tmp_path / framework
        out.mkdir()
        owners = render_layers(
            templates_root(), ("base", framework, "deploy"), default_data(framework), out
        )
        assert {"base", framework} <= set(owners.values())


def test_answers_cannot_steer_paths_outside_the_project(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    (root / "evil" / "template" / "{{ package }}").mkdir(parents=True)
    (root / "evil" / "copier.yml").write_text("_subdirectory: template\n")
    (root / "evil" / "template" / "{{ package }}" / "x.txt").write_text("x")
    with pytest.raises(OperationFailed, match="outside the project"):
        render_layers(root, ("evil",), {"package": ".."}, tmp_path / "out")
    assert not (tmp_path / "x.txt").exists()


def test_conditional_files_vanish_when_their_name_renders_empty(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    (root / "layer" / "template").mkdir(parents=True)
    (root / "layer" / "copier.yml").write_text("_subdirectory: template\n")
    (root / "layer" / "template" / "{% if docker %}Dockerfile{% endif %}").write_text("FROM x\n")
    out = tmp_path / "out"
    assert render_layers(root, ("layer",), {"docker": False}, out) == {}
    assert render_layers(root, ("layer",), {"docker": True}, out) == {"Dockerfile": "layer"}


def test_copier_yml_agrees_with_the_answer_schema() -> None:
    """Questions are defined once (questions.py, catalog); copier.yml only mirrors them."""
    for framework in available_frameworks():
        questions = {q.name: q for q in catalog.get(framework).questions}
        for layer in ("base", framework, "deploy"):
            config = yaml.safe_load((TEMPLATES / layer / "copier.yml").read_text())
            for name, spec in config.items():
                if name.startswith("_") or name not in questions:
                    continue
                if spec.get("when") is False:
                    continue  # a catalog fact here (e.g. base's `interface`), a question elsewhere
                question = questions[name]
                if question.choices:
                    assert tuple(spec.get("choices", ())) == question.choices, (layer, name)
                if not callable(question.default):
                    assert spec.get("default") == question.default, (layer, name)


def test_templates_root_honours_the_override(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCAFFOLD_TEMPLATES", str(tmp_path))
    with pytest.raises(OperationFailed, match="has no base/ layer"):
        templates_root()
    (tmp_path / "base").mkdir()
    assert templates_root() == tmp_path
