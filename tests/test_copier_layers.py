"""Each layer's copier.yml on its own: it declares what its templates use, computes the catalog's
facts the way scaffold does, and refuses the free text scaffold refuses."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Environment, meta
from jinja2.sandbox import SandboxedEnvironment

from scaffold import catalog
from scaffold.questions import (
    COMMON_QUESTIONS,
    check_project_name,
    check_text,
    compatible,
    resolve_answers,
)
from scaffold.render import render_layer
from tests.helpers import TEMPLATES, available_frameworks, tree_snapshot

LAYERS = ("base", *available_frameworks(), "deploy")
# Answers whose check includes the free-text rule: they are printed between double quotes.
FREE_TEXT_CHECKS = (check_text, check_project_name)
FREE_TEXT_SAMPLES = (
    "Bob's Shop & Co",
    "Café <b>tags</b> at 100%, {{ braces }} too",
    "x" * 200,
    "x" * 201,
    'Say "hi"',
    "back\\slash",
    "tab\there",
    "new\nline",
    "delete\x7f",
    "",
)


def copier_config(layer: str) -> dict[str, Any]:
    return yaml.safe_load((TEMPLATES / layer / "copier.yml").read_text())


def questions_of(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in config.items() if not name.startswith("_")}


def facts_of(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in questions_of(config).items() if spec.get("when") is False}


def variables_used(layer: str) -> set[str]:
    """Every variable the layer's templates and templated file names read."""
    env = Environment(keep_trailing_newline=True)
    root = TEMPLATES / layer / copier_config(layer).get("_subdirectory", "")
    used: set[str] = set()
    for path in root.rglob("*"):
        sources = [part for part in path.relative_to(root).parts if "{" in part]
        if path.is_file() and path.name.endswith(".jinja"):
            sources.append(path.read_text(encoding="utf-8"))
        for source in sources:
            used |= meta.find_undeclared_variables(env.parse(source))
    return used


def copier_value(spec: dict[str, Any], answers: dict[str, Any]) -> Any:
    """What copier computes for a `when: false` default: rendered, then parsed as its type."""
    default = spec["default"]
    if not isinstance(default, str):
        return default
    rendered = SandboxedEnvironment().from_string(default).render(**answers)
    return yaml.safe_load(rendered) if spec.get("type") == "yaml" else rendered


def choice_combinations(framework: catalog.Framework) -> list[dict[str, str]]:
    """Every combination of the framework's choice answers, python_version included."""
    choices = [q for q in COMMON_QUESTIONS + framework.options if q.type == "choice"]
    combinations = (
        dict(zip((q.name for q in choices), values, strict=True))
        for values in itertools.product(*(q.choices for q in choices))
    )
    return [given for given in combinations if compatible(choices, given)]


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_declares_every_variable_it_uses_and_no_stale_fact(layer: str) -> None:
    config = copier_config(layer)
    used = variables_used(layer)
    assert used - set(questions_of(config)) == set(), "used, not declared in copier.yml"
    assert set(facts_of(config)) - used == set(), "declared as a fact, used by no template"


@pytest.mark.parametrize("framework", available_frameworks())
def test_copier_yml_computes_the_catalogs_facts(framework: str) -> None:
    """For every choice combination, each `when: false` default equals catalog.template_data."""
    fw = catalog.get(framework)
    facts = facts_of(copier_config(framework))
    assert facts, "a framework layer declares at least its server dependencies"
    for given in choice_combinations(fw):
        answers = resolve_answers(fw.questions, {**given, "package": "shop_admin"})
        data = catalog.template_data(fw, answers)
        for name, spec in facts.items():
            assert copier_value(spec, answers) == data[name], (name, given)


@pytest.mark.parametrize("framework", available_frameworks())
def test_plain_copier_copy_of_a_framework_layer_matches_scaffold(
    framework: str, tmp_path: Path
) -> None:
    """`copier copy templates/<framework>` with only its questions answered (no facts passed)
    writes the bytes scaffold writes with the catalog's facts, for each option's every choice."""
    copier = pytest.importorskip("copier")
    fw = catalog.get(framework)
    questions = questions_of(copier_config(framework))
    options = [q for q in fw.options if q.type == "choice"]
    for values in itertools.product(*(q.choices for q in options)):
        given = {q.name: value for q, value in zip(options, values, strict=True)}
        if not compatible(options, given):
            continue
        given |= {"python_version": "3.13", "package": "shop_admin"}
        answers = resolve_answers(fw.questions, given)
        label = "-".join(values) or "defaults"
        ours, theirs = tmp_path / f"ours-{label}", tmp_path / f"copier-{label}"
        ours.mkdir()
        render_layer(TEMPLATES / framework, catalog.template_data(fw, answers), ours)
        copier_answers = {k: v for k, v in answers.items() if k in questions}
        copier.run_copy(
            str(TEMPLATES / framework), theirs, data=copier_answers, defaults=True, quiet=True
        )
        theirs_files = tree_snapshot(theirs)
        theirs_files.pop(".copier-answers.yml", None)
        assert tree_snapshot(ours) == theirs_files, label


def test_every_free_text_question_has_the_schemas_validator() -> None:
    """Copier's validator says what check_text says, word for word, on every layer."""
    schema = {q.name: q for fw in catalog.FRAMEWORKS for q in fw.questions}
    env = SandboxedEnvironment()
    checked = 0
    for layer in LAYERS:
        for name, spec in questions_of(copier_config(layer)).items():
            if name not in schema or schema[name].check not in FREE_TEXT_CHECKS:
                continue
            assert "validator" in spec, (layer, name)
            for value in FREE_TEXT_SAMPLES:
                said = env.from_string(spec["validator"]).render({name: value}).strip()
                assert said == (check_text(value) or ""), (layer, name, value)
            checked += 1
    assert checked >= len(LAYERS) * 1  # every layer has project_name at least


def test_copier_copy_refuses_a_double_quote_in_free_text(tmp_path: Path) -> None:
    copier = pytest.importorskip("copier")
    dest = tmp_path / "out"
    with pytest.raises(ValueError, match=r"description.*contains \" or \\"):
        copier.run_copy(
            str(TEMPLATES / "flask"),
            dest,
            data={"description": 'Say "hi"'},
            defaults=True,
            quiet=True,
        )
    assert not dest.exists()
