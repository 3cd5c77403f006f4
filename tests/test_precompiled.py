"""The precompiled templates: up to date with templates/, and the same text as Jinja renders."""

from __future__ import annotations

import importlib
import itertools
import subprocess
import sys
from typing import Any

import pytest

from scaffold import catalog, render, template_compiler
from scaffold.questions import Question, resolve_answers
from tests.helpers import REPO, TEMPLATES, available_frameworks

REGENERATE = "templates changed: run `python -m scaffold.template_compiler`, commit the result"


def test_the_module_covers_every_shipped_template() -> None:
    """Each template text and copier.yml has its entry (entries are keyed by content, so a
    module may hold more), and nothing the shipped templates use is left to Jinja: `new`
    never has to import it."""
    assert template_compiler.missing(TEMPLATES) == [], REGENERATE
    assert template_compiler.generate([TEMPLATES])[1] == []


def answer_variants(framework: catalog.Framework) -> list[dict[str, Any]]:
    """The defaults, and every value of every choice and yes/no answer, one at a time, plus
    awkward free text (quotes, ampersands, angle brackets, non-ASCII)."""
    variants: list[dict[str, Any]] = [{}]
    for question in framework.questions:
        values = list(question.choices) if question.type == "choice" else []
        values += [True, False] if question.type == "bool" else []
        variants += [with_what_it_needs(framework, question, value) for value in values]
    variants.append(
        {
            "project_name": "Zoë's <Shop> & Co",
            "description": "Sells 'things' & <stuff>, naïvely.",
            "author_name": "O'Brien & Ünal",
        }
    )
    return variants


def with_what_it_needs(
    framework: catalog.Framework, question: Question, value: Any
) -> dict[str, Any]:
    """{name: value}, plus another answer's last choice where the value excludes the default
    (kubernetes=true needs a database other than SQLite, Flask's default)."""
    answers = {question.name: value}
    for excluded, other, forbidden in question.excludes:
        needed = next((q for q in framework.questions if q.name == other), None)
        if excluded == value and needed is not None and needed.default == forbidden:
            answers[other] = next(c for c in reversed(needed.choices) if c != forbidden)
    return answers


def jinja_render(text: str, data: dict[str, Any]) -> str:
    return str(render._jinja_env().from_string(text).render(**data))


@pytest.mark.parametrize("framework", available_frameworks())
def test_precompiled_functions_render_what_jinja_renders(framework: str) -> None:
    fw = catalog.get(framework)
    functions = render._precompiled()[0]
    sources = [
        (where, text)
        for where, text in template_compiler._sources(TEMPLATES)
        if where.split("/", 1)[0] in ("base", framework, "deploy")
    ]
    assert sources
    for given, (where, text) in itertools.product(answer_variants(fw), sources):
        assert text in functions, f"{where}: {REGENERATE}"
        data = catalog.template_data(fw, resolve_answers(fw.questions, given))
        assert functions[text](data) == jinja_render(text, data), (where, given)


@pytest.mark.parametrize(
    "text",
    [
        "{{ missing }}",  # StrictUndefined: Jinja's error, not a KeyError
        "{{ env_vars.items }}",  # a real attribute: Jinja's sandbox decides
        "{% for x in package %}{{ x }}{% endfor %}",
    ],
)
def test_anything_unusual_goes_to_jinja(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A translated function that raises hands the template to Jinja, whose answer stands."""
    namespace = dict(vars(importlib.import_module("scaffold._precompiled_templates")))
    exec(compile(template_compiler.translate(text, "t"), "<test>", "exec"), namespace)
    table = {text: namespace["t"]}
    monkeypatch.setattr(render, "_precompiled", lambda: (table, {}))
    data = {"package": "shop", "env_vars": {"a": 1}}
    try:
        expected: str | type[Exception] = jinja_render(text, data)
    except Exception as error:
        expected = type(error)
    if isinstance(expected, str):
        assert render._render_string(text, data, "t") == expected
    else:
        with pytest.raises(render.OperationFailed):
            render._render_string(text, data, "t")


def test_new_imports_neither_jinja_nor_yaml(tmp_path) -> None:
    """With the shipped templates, `scaffold new` renders without importing jinja2 or yaml."""
    probe = (
        "import sys; from scaffold.cli import main; sys.argv = ['scaffold', 'new', sys.argv[1],"
        " '--framework', 'flask', '--defaults']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "print(sorted(m for m in ('jinja2', 'yaml') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "shop")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "shop" / ".scaffold.yml").is_file()
    assert done.stdout.strip().splitlines()[-1] == "[]"
