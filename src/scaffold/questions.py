"""The answer schema: every project question defined once, with its type, default and validator."""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scaffold.errors import BadInput

Answers = dict[str, Any]

# Import names a generated package must not take: they would shadow what the project imports.
RESERVED_PACKAGES = frozenset(
    {
        "django",
        "flask",
        "fastapi",
        "falcon",
        "pyramid",
        "gunicorn",
        "uvicorn",
        "uvicorn_worker",
        "starlette",
        "pydantic",
        "pydantic_settings",
        "jinja2",
        "werkzeug",
        "click",
        "test",
        "tests",
        "conftest",
        "setup",
        "scaffold",
        "site",
        "app",
        "config",
        "static",
        "templates",
        "deploy",
        "pytest",
        "dotenv",
        "webtest",
        "mako",
        "chameleon",
        "sqlalchemy",
        "psycopg",
    }
)
_PACKAGE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_UNIX_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_BOOL_WORDS = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "on": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
    "off": False,
}


@dataclass(frozen=True)
class Question:
    """One answer a project needs. `default` is a value or a function of the answers so far."""

    name: str
    help: str
    default: Any
    type: str = "str"  # "str" | "bool" | "choice"
    choices: tuple[str, ...] = ()
    check: Callable[[str], str | None] | None = None  # returns what is wrong, or None
    # (this answer's value, another answer, a value of that one it cannot go with)
    excludes: tuple[tuple[str | bool, str, str], ...] = ()

    def default_for(self, answers: Mapping[str, Any]) -> Any:
        return self.default(answers) if callable(self.default) else self.default

    def excluded_by(self, answers: Mapping[str, Any]) -> tuple[str, str] | None:
        """The (answer, value) among `answers` that this answer's value cannot go with."""
        mine = answers.get(self.name)
        for value, other, forbidden in self.excludes:
            # Raw ("true", from --data) or parsed (True): the same answer.
            if mine is not None and self.parse(mine) == value and answers.get(other) == forbidden:
                return other, forbidden
        return None

    def parse(self, raw: Any) -> Any:
        """Turn a raw value (from --data, a prompt or .scaffold.yml) into a valid answer."""
        if self.type == "bool":
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word not in _BOOL_WORDS:
                raise BadInput(
                    f"{self.name}={raw!r} is not a yes/no value",
                    f"use {self.name}=true or {self.name}=false",
                )
            return _BOOL_WORDS[word]
        if not isinstance(raw, str):
            raise BadInput(
                f"{self.name} must be text, got {type(raw).__name__}",
                f"quote the value of {self.name}",
            )
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:  # argv bytes that decode to no text (surrogate escapes)
            raise BadInput(
                f"{self.name} is not valid UTF-8 text",
                f"pass {self.name} as UTF-8 (check the terminal's or the script's encoding)",
            ) from None
        value = raw.strip()
        if self.type == "choice" and value not in self.choices:
            raise BadInput(
                f"{self.name}={raw!r} is not one of {', '.join(self.choices)}",
                f"pick one, e.g. --data {self.name}={self.choices[0]}",
            )
        if self.check and (problem := self.check(value)):
            raise BadInput(f"{self.name}={raw!r} {problem}", f"fix it with --data {self.name}=...")
        return value


def check_project_name(value: str) -> str | None:
    if not value:
        return "is empty"
    if len(value) > 60:
        return "is longer than 60 characters"
    if any(ch in value for ch in "/\\") or ".." in value:
        return "contains a path separator or '..'"
    if problem := check_text(value):
        return problem
    if not any(ch.isalnum() for ch in value):
        return "has no letters or digits"
    return None


def check_package(value: str) -> str | None:
    if not _PACKAGE_RE.fullmatch(value):
        return "is not a lowercase Python identifier (letters, digits, underscores)"
    if len(value) > 24:  # it appears in imports and settings paths; keep lines short
        return "is longer than 24 characters"
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return "is a Python keyword"
    if value in sys.stdlib_module_names:
        return "shadows a standard-library module"
    if value in RESERVED_PACKAGES:
        return "shadows a framework or tool the project imports"
    return None


def check_email(value: str) -> str | None:
    return None if _EMAIL_RE.fullmatch(value) else "is not an email address"


def check_domain(value: str) -> str | None:
    return (
        None if _DOMAIN_RE.fullmatch(value) else "is not a lowercase domain name like example.com"
    )


# Users the service must not share: nginx runs as one of them (www-data on Debian and Ubuntu,
# nginx on Fedora and Alpine, nobody when built without a `user`), so sharing one would let
# nginx's workers read the app's .env and other services reach the socket gunicorn trusts.
SHARED_USERS = frozenset({"www-data", "nginx", "nobody"})


def check_unix_user(value: str) -> str | None:
    if value == "root":
        return "is root; the service must run unprivileged"
    if value in SHARED_USERS:
        return "is nginx's own user; the service needs its own"
    return None if _UNIX_USER_RE.fullmatch(value) else "is not a valid unix user name"


def check_text(value: str) -> str | None:
    """Free text lands in Python, TOML and page templates: no control characters, no " or \\,
    no braces."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "contains control characters"
    if '"' in value or "\\" in value:
        return 'contains " or \\; use \' instead of "'
    if "{" in value or "}" in value:  # Jinja and Django page templates would run them
        return "contains { or }, which page templates would read as template syntax"
    return "is longer than 200 characters" if len(value) > 200 else None


def package_from_name(project_name: str) -> str:
    """'My Shop 2' -> 'my_shop_2': the import name a user would pick."""
    slug = re.sub(r"[^a-z0-9]+", "_", project_name.lower()).strip("_")
    return f"app_{slug}" if slug[:1].isdigit() else slug


COMMON_QUESTIONS: tuple[Question, ...] = (
    Question("project_name", "Project name, free text", "My Project", check=check_project_name),
    Question(
        "package",
        "Python import name",
        lambda a: package_from_name(a["project_name"]),
        check=check_package,
    ),
    Question(
        "description",
        "One-line description",
        lambda a: f"{a['project_name']}, a web application.",
        check=check_text,
    ),
    Question("author_name", "Author name", "Your Name", check=check_text),
    Question("author_email", "Author email", "you@example.com", check=check_email),
    Question("domain", "Domain the site is served on", "example.com", check=check_domain),
    Question(
        "python_version",
        "Minimum Python version",
        "3.11",
        type="choice",
        choices=("3.11", "3.12", "3.13", "3.14"),
    ),
    Question(
        "deploy_user",
        "Unix user the service runs as (its own, not nginx's)",
        lambda a: a["package"],
        check=check_unix_user,
    ),
    Question("docker", "Add a Dockerfile", False, type="bool"),
    # Several replicas share one database: SQLite's file lives on one node's disk.
    Question(
        "kubernetes",
        "Add Kubernetes manifests (deploy/kubernetes/, with the Dockerfile)",
        False,
        type="bool",
        excludes=((True, "database", "sqlite"),),
    ),
)


def parse_data_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """Turn ['key=value', ...] from --data into a mapping; refuse malformed pairs."""
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadInput(f"--data {pair!r} is not KEY=VALUE", "write it as --data package=my_app")
        data[key] = value
    return data


def resolve_answers(
    questions: Iterable[Question],
    given: Mapping[str, Any],
    ask: Callable[[Question, Any], Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Answers:
    """Validate given answers, ask (or default) the rest, in schema order. `defaults` replace
    the schema's own defaults (e.g. the destination's name for project_name)."""
    questions = tuple(questions)
    known = {q.name for q in questions}
    unknown = sorted(set(given) - known)
    if unknown:
        raise BadInput(
            f"unknown answer {unknown[0]!r}", f"known answers are: {', '.join(sorted(known))}"
        )
    defaults = defaults or {}
    answers: Answers = {}
    for question in questions:
        default = (
            defaults[question.name] if question.name in defaults else question.default_for(answers)
        )
        if question.name in given:
            answers[question.name] = question.parse(given[question.name])
        elif ask is not None:
            answers[question.name] = ask(question, default)
        else:
            answers[question.name] = question.parse(default)
    for question in questions:
        if excluded := question.excluded_by(answers):
            other, forbidden = excluded
            raise BadInput(
                f"{question.name}={_shown(answers[question.name])} cannot go with "
                f"{other}={forbidden}",
                f"pick another {other} (e.g. --data {other}="
                f"{_first_other(questions, other, forbidden)}) or another {question.name}",
            )
    return answers


def compatible(questions: Iterable[Question], answers: Mapping[str, Any]) -> bool:
    """Whether no answer excludes another (auth=accounts needs a database, say)."""
    return not any(question.excluded_by(answers) for question in questions)


def _shown(value: Any) -> str:
    """An answer as --data spells it: true/false, not Python's True/False."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _first_other(questions: tuple[Question, ...], name: str, forbidden: str) -> str:
    question = next(q for q in questions if q.name == name)
    return next(choice for choice in question.choices if choice != forbidden)
