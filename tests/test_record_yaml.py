""".scaffold.yml without yaml: `simple_yaml` writes exactly what yaml.safe_dump writes, or
declines (None) and the record falls back to yaml."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from scaffold import catalog
from scaffold.project import Record, simple_yaml, simple_yaml_load
from scaffold.questions import resolve_answers
from tests.helpers import available_frameworks

AWKWARD = [
    "",
    " ",
    "a",
    "y",
    "n",
    "Y",
    "yes",
    "No",
    "ON",
    "off",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "3",
    "3.11",
    "3.14",
    "007",
    "1e3",
    "1.0.0",
    "0.1.0",
    "10.2.3.4",
    "1_000",
    ".inf",
    ".5",
    "-",
    "- a",
    "a - b",
    "a:b",
    "a: b",
    "a #b",
    "a#b",
    "#a",
    "&a",
    "a & b",
    "*a",
    "!a",
    "%a",
    "@a",
    "`a",
    "|a",
    ">a",
    "a>b",
    "[a]",
    "{a}",
    "a,b",
    "a, b",
    "?a",
    "a?",
    "O'Brien",
    "'a'",
    '"a"',
    "a  b",
    "a ",
    " a",
    "a\tb",
    "a\nb",
    "Zoë",
    "naïve café",
    "x" * 76,
    "x" * 90,
    "word " * 20,
    "My Project, a web application.",
    "you@example.com",
    "www-data",
    "example.com",
    "my_project",
    "2024-01-01",
    "12:30",
    "<<",
    "=",
    "a=b",
    "(a)",
    "a/b+c",
]


def agrees(body: dict[str, Any]) -> None:
    ours = simple_yaml(body)
    if ours is not None:
        assert ours == yaml.safe_dump(body, sort_keys=False, allow_unicode=True), body
        assert yaml.safe_load(ours) == body


@pytest.mark.parametrize("value", AWKWARD)
def test_awkward_strings_as_values_keys_and_list_items(value: str) -> None:
    for body in (
        {"answers": {"name": value}},
        {"key": value},
        {"layers": [value, "base"]},
        {"answers": {value: "x"}} if value else {},
        {value: "x"} if value else {},
    ):
        agrees(body)


def test_the_default_records_need_no_yaml() -> None:
    """What `new --defaults` writes takes the fast path, and it is yaml's text."""
    for name in available_frameworks():
        fw = catalog.get(name)
        answers = resolve_answers(fw.questions, {})
        record = Record("0.1.0", name, ("base", name, "deploy"), answers)
        body = {
            "scaffold_version": "0.1.0",
            "framework": name,
            "layers": ["base", name, "deploy"],
            "answers": answers,
        }
        assert simple_yaml(body) is not None
        agrees(body)
        assert yaml.safe_load(record.to_yaml()) == body


def test_random_values_match_yaml() -> None:
    alphabet = "aZ_09 .,@/+()'&-:#?!*%|><[]{}\"=~\tzë"
    rng = random.Random(15)
    for _ in range(3000):
        value: Any = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.1:
            value = rng.choice([True, False, 0, -3, 12345, 1.5, None])
        agrees({"answers": {"k": value, "docker": False}, "v": "0.1.0"})


def test_random_plain_looking_values_match_yaml() -> None:
    """Values built from the characters the fast path accepts, so most of them take it."""
    rng = random.Random(16)
    taken = 0
    for _ in range(3000):
        value = "".join(rng.choice("aZy_09 .,@/+()'&-") for _ in range(rng.randint(1, 90)))
        body = {"answers": {"project_name": value}, "layers": [value]}
        taken += simple_yaml(body) is not None
        agrees(body)
    assert taken > 300


def test_what_simple_yaml_writes_reads_back_without_yaml() -> None:
    rng = random.Random(17)
    for _ in range(2000):
        value: Any = "".join(rng.choice("aZy_09 .,@/+()'&-") for _ in range(rng.randint(1, 30)))
        if rng.random() < 0.2:
            value = rng.choice([True, False, 0, -3, 12345, "3.11", "0.1.0"])
        body = {"v": "0.1.0", "layers": ["base", value], "answers": {"k": value, "d": False}}
        text = simple_yaml(body)
        if text is not None:
            assert simple_yaml_load(text) == body


@pytest.mark.parametrize("value", AWKWARD)
def test_reading_takes_yaml_s_answer_or_none(value: str) -> None:
    """Whatever the text, the fast reader returns what yaml reads, or declines."""
    for text in (
        f"key: {value}\n",
        f"key:\n- {value}\n",
        f"key:\n  name: {value}\n",
        f"{value}: x\n",
        f"key:\n{value}\n",
        f"key: x\n{value}\n",
        f"a: {value}\nb:\n- x\n- {value}\nc:\n  d: {value}\n",
    ):
        ours = simple_yaml_load(text)
        if ours is not None:
            assert ours == yaml.safe_load(text), text


def test_records_read_back_as_written(tmp_path) -> None:
    for name in available_frameworks():
        fw = catalog.get(name)
        record = Record("0.1.0", name, ("base", name, "deploy"), resolve_answers(fw.questions, {}))
        (tmp_path / ".scaffold.yml").write_text(record.to_yaml(), encoding="utf-8")
        assert Record.read(tmp_path) == record
