"""The template matrix, derived from the catalog and the answer schema (no hand-kept list).

Every framework with its defaults; the full product of each framework's own choice options
with `docker` (and `kubernetes` with it, where the database allows several pods); the remaining
common choices (python_version) rotated through those, so every value of every option is
rendered and checked. Boots run for every combination whose option
values change code (the catalog's options), not for ones that only change metadata.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass

from scaffold import catalog
from scaffold.questions import COMMON_QUESTIONS, compatible
from tests.helpers import available_frameworks


@dataclass(frozen=True)
class Combination:
    framework: str
    data: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        shown = [f"{k}={v}" for k, v in self.data if k not in SILENT_IN_ID]
        awkward = ["awkward-names"] if dict(self.data).get("package") else []
        return "-".join([self.framework, *shown, *awkward])

    @property
    def pairs(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.data]

    def with_answer(self, key: str, value: str) -> Combination:
        return Combination(self.framework, tuple(sorted({**dict(self.data), key: value}.items())))


AWKWARD_NAMES = {
    "project_name": "Bob's Shop & <Co> 100% (the biggest one around town, we mean it)"[:60],
    "package": "inventory_and_shop_admin",  # 24 characters, the limit
    "description": "Sells 'quotes' & <b>tags</b> at 100% (and #hashes) too; " + "long " * 27,
}


# kubernetes follows docker (see combinations), so it adds nothing to the name.
SILENT_IN_ID = {"python_version", "kubernetes", *AWKWARD_NAMES}
# The options every framework shares (catalog/shared.py); the rest are a framework's own.
SHARED_OPTIONS = {"database", "auth"}


def _values(question) -> list[str]:
    if question.type == "bool":
        return ["false", "true"]
    return list(question.choices)


def combinations() -> list[Combination]:
    docker = next(q for q in COMMON_QUESTIONS if q.name == "docker")
    rotated = [q for q in COMMON_QUESTIONS if q.type == "choice"]
    result = []
    counter = itertools.count()
    for name in available_frameworks():
        framework = catalog.get(name)
        varied = [q for q in framework.options if q.type in ("choice", "bool")] + [docker]
        for values in itertools.product(*(_values(q) for q in varied)):
            data = dict(zip((q.name for q in varied), values, strict=True))
            if not compatible(varied, data):  # auth=accounts needs a database
                continue
            i = next(counter)
            for question in rotated:
                data[question.name] = question.choices[i % len(question.choices)]
            if data["docker"] == "true":  # line lengths, quoting and escaping in every file
                data.update(AWKWARD_NAMES)
                # deploy/kubernetes/ with the image, where the database allows several pods.
                if data.get("database") != "sqlite":
                    data["kubernetes"] = "true"
            result.append(Combination(name, tuple(sorted(data.items()))))
    return result


def boot_combinations() -> list[Combination]:
    """Pairwise, so each framework costs two or three boots: no database; the data layer with
    accounts on PostgreSQL (the check's own cluster); each other value of the framework's own
    options at the defaults; and where the framework has an interface answer, every interface
    with every database (sync and async drivers are different code). On the Python running the
    tests. Each framework's defaults boot in tests/test_check.py, accounts on SQLite in
    tests/test_accounts.py and the items API on both databases in tests/test_items_api.py."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    boots = []
    for combo in combinations():
        values = dict(combo.data)
        framework = catalog.get(combo.framework)
        changed = {q.name for q in framework.options if values[q.name] != q.default}
        paired = {framework.interface_answer, "database"}
        demanding = values.get("database") == "postgresql" and values.get("auth") == "accounts"
        wanted = (
            (len(changed) == 1 and not changed & SHARED_OPTIONS)
            or (changed == {"database"} and values["database"] == "none")
            or (demanding and changed <= SHARED_OPTIONS)
            or changed == paired
        )
        if values.get("docker") == "false" and wanted:
            boots.append(combo.with_answer("python_version", running))
    return boots
