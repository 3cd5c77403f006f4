"""The catalog's facts: complete for every choice of the answer they follow."""

from __future__ import annotations

import pytest

from scaffold import catalog
from scaffold.questions import resolve_answers


@pytest.mark.parametrize("framework", catalog.FRAMEWORKS, ids=lambda fw: fw.name)
def test_each_choice_fact_has_a_value_for_every_choice_of_its_answer(
    framework: catalog.Framework,
) -> None:
    options = {q.name: q for q in framework.options}
    for fact in framework.choice_facts:
        assert fact.answer in options, fact.name
        assert [choice for choice, _ in fact.values] == list(options[fact.answer].choices)


def test_the_interface_gives_the_async_words() -> None:
    falcon = catalog.get("falcon")
    for interface, words in (
        ("wsgi", ("", "", "falcon")),
        ("asgi", ("async ", "await ", "falcon.asgi")),
    ):
        data = catalog.template_data(
            falcon, resolve_answers(falcon.questions, {"interface": interface})
        )
        assert (data["async"], data["await"], data["falcon_module"]) == words
