"""The catalog's facts: complete for every choice, and safe to print between double quotes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from scaffold import catalog
from scaffold.questions import COMMON_QUESTIONS, check_text, compatible, resolve_answers


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


@pytest.mark.parametrize("framework", catalog.FRAMEWORKS, ids=lambda fw: fw.name)
def test_each_choice_fact_has_a_value_for_every_choice_of_its_answer(
    framework: catalog.Framework,
) -> None:
    options = {q.name: q for q in framework.options}
    for fact in framework.choice_facts:
        assert fact.answer in options, fact.name
        assert [choice for choice, _ in fact.values] == list(options[fact.answer].choices)


# Values the templates print only through `tojson`, which escapes them.
PRINTED_AS_JSON = {"access_log_format", "server_container_command"}


@pytest.mark.parametrize("framework", catalog.FRAMEWORKS, ids=lambda fw: fw.name)
def test_template_data_prints_as_written_between_double_quotes(
    framework: catalog.Framework,
) -> None:
    """Templates print every value as written inside "...": Python and TOML strings. So no value,
    for any choice, may hold a " or \\ or a control character (the free-text rule)."""
    choices = [q for q in COMMON_QUESTIONS + framework.options if q.type in ("choice", "bool")]
    for values in itertools.product(
        *(q.choices if q.type == "choice" else ("false", "true") for q in choices)
    ):
        given = dict(zip((q.name for q in choices), values, strict=True))
        if not compatible(choices, given):
            continue
        data = catalog.template_data(framework, resolve_answers(framework.questions, given))
        printed = {key: value for key, value in data.items() if key not in PRINTED_AS_JSON}
        for text in strings_in(printed):
            assert check_text(text) is None, (given, text)


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


def test_accounts_are_probed_where_each_framework_serves_them() -> None:
    answers = {"package": "shop", "auth": "accounts"}
    assert catalog.get("django").account_probe(answers) == ("/accounts/login", 200)
    assert catalog.get("falcon").account_probe(answers) == ("/api/users/me", 401)
    assert catalog.get("flask").account_probe({**answers, "auth": "none"}) is None


def test_interface_choices_name_the_answer_values_or_nothing() -> None:
    assert catalog.get("falcon").interface_choices == ("wsgi", "asgi")
    assert catalog.get("flask").interface_choices == ()
