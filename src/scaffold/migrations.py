"""Answer migrations: how a newer scaffold reads the answers an older one stored.

`.scaffold.yml` keeps the answers a project was rendered with. When a release renames or drops
a question, it adds a `Migration` here; `scaffold update` runs every migration newer than the
recorded version (and not newer than the installed one), in order, before validating the
answers exactly like `scaffold new` does. Example for a release 0.2.0 that renamed a question:

    Migration("0.2.0", "python is now python_version", rename("python", "python_version"))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scaffold.errors import BadInput

Answers = dict[str, Any]
_VERSION_RE = re.compile(r"^v?(\d+(?:\.\d+)*)(?:[.+-]?[A-Za-z0-9.+-]*)?$")


def version_key(version: str) -> tuple[int, ...]:
    """'0.10.2' -> (0, 10, 2, 0): comparable release numbers; a pre-release suffix is ignored."""
    match = _VERSION_RE.fullmatch(str(version).strip())
    if not match:
        raise BadInput(
            f"scaffold version {version!r} in .scaffold.yml is not a version number",
            "restore it with `git checkout -- .scaffold.yml`",
        )
    numbers = tuple(int(part) for part in match.group(1).split("."))
    return numbers + (0,) * (4 - len(numbers))


@dataclass(frozen=True)
class Migration:
    """Rewrites stored answers for projects recorded before `version`."""

    version: str
    description: str
    apply: Callable[[Answers], Answers]


def rename(old: str, new: str) -> Callable[[Answers], Answers]:
    """A question was renamed: move its stored answer, keeping an explicit new one if present."""

    def apply(answers: Answers) -> Answers:
        moved = {key: value for key, value in answers.items() if key != old}
        if old in answers and new not in answers:
            moved[new] = answers[old]
        return moved

    return apply


def drop(key: str) -> Callable[[Answers], Answers]:
    """A question was removed: forget its stored answer."""

    def apply(answers: Answers) -> Answers:
        return {name: value for name, value in answers.items() if name != key}

    return apply


def keep_missing(key: str, value: Any) -> Callable[[Answers], Answers]:
    """A question was added whose default would change existing projects: those recorded
    before it get `value` (what they had), new ones the default."""

    def apply(answers: Answers) -> Answers:
        return {key: value, **answers}

    return apply


# Newest last.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0.2.0",
        "database is asked for every framework: a project made before keeps none "
        "(Django's was always asked); `scaffold update --data database=sqlite` adds one",
        keep_missing("database", "none"),
    ),
)


def pending(
    recorded: str, installed: str, migrations: Iterable[Migration] = MIGRATIONS
) -> list[Migration]:
    """The migrations a project recorded at `recorded` needs to be read by `installed`."""
    low, high = version_key(recorded), version_key(installed)
    chosen = [m for m in migrations if low < version_key(m.version) <= high]
    return sorted(chosen, key=lambda m: version_key(m.version))


def migrate_answers(
    answers: Mapping[str, Any],
    recorded: str,
    installed: str,
    migrations: Iterable[Migration] = MIGRATIONS,
) -> Answers:
    """Apply every pending migration to a copy of the stored answers."""
    migrated = dict(answers)
    for migration in pending(recorded, installed, migrations):
        migrated = migration.apply(dict(migrated))
    return migrated
