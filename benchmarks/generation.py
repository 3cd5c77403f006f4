"""Benchmark 1: time to a new project.

`scaffold new --defaults` per framework against `django-admin startproject` and a plain
`copier copy` of the same three layers, interleaved in one run, after one untimed warm-up round.
All three run from this interpreter's venv with bytecode compiled (`prepare_bytecode`), as after
`pip install`. Prints medians and ratios.

    python benchmarks/generation.py [--rounds 9] [--frameworks flask django] [--baseline DIR]

--baseline DIR also times another scaffold version in the same run: DIR is its source tree
(src/ and templates/), e.g. `mkdir DIR && git archive ed1da59 | tar -x -C DIR`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import interleave, prepare_bytecode, print_table, timed_run  # noqa: E402

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
COPIER_SCRIPT = """
import sys, copier
from scaffold import catalog
from scaffold.questions import resolve_answers
fw = catalog.get(sys.argv[2])
data = catalog.template_data(fw, resolve_answers(fw.questions, {}))
for layer in ("base", fw.name, "deploy"):
    copier.run_copy(f"{sys.argv[3]}/{layer}", sys.argv[1], data=data, defaults=True, quiet=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--frameworks", nargs="*")
    parser.add_argument("--baseline", type=Path, help="another scaffold source tree to time")
    args = parser.parse_args()
    baseline = args.baseline.resolve() / "src" if args.baseline else None
    bytecode = prepare_bytecode(extra=[baseline] if baseline else [])
    load = os.getloadavg()[0]
    from scaffold import catalog

    frameworks = args.frameworks or [
        n for n in catalog.names() if (REPO / "templates" / n).is_dir()
    ]
    work = Path(tempfile.mkdtemp(prefix="bench-gen-"))
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null"}

    def fresh(tag: str, i: int) -> str:
        return str(work / f"{tag}-{i}")

    def startproject(i: int) -> tuple[float, float]:
        target = fresh("startproject", i)
        os.makedirs(target)
        return timed_run([str(BIN / "django-admin"), "startproject", "ref", target], env=env)

    def new(name: str, i: int, tag: str = "", extra: dict[str, str] | None = None) -> tuple:
        argv = [str(BIN / "scaffold"), "new", fresh(tag + name, i), "--framework", name]
        return timed_run([*argv, "--defaults"], env={**env, **(extra or {})})

    jobs = {"django-admin startproject": startproject}
    for name in frameworks:
        jobs[f"scaffold new --framework {name}"] = lambda i, n=name: new(n, i)
        if baseline:  # PYTHONPATH wins over the venv's editable install
            jobs[f"baseline new --framework {name}"] = lambda i, n=name: new(
                n, i, "baseline-", {"PYTHONPATH": str(baseline)}
            )
    jobs["copier copy (3 layers, flask)"] = lambda i: timed_run(
        [sys.executable, "-c", COPIER_SCRIPT, fresh("copier", i), "flask", str(REPO / "templates")],
        env=env,
    )
    try:
        results = interleave(args.rounds, jobs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    reference = results["django-admin startproject"]
    print(
        f"rounds={args.rounds} cores={os.cpu_count()} python={sys.version.split()[0]} "
        f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(bytecode)
    if baseline:
        print(f"baseline: scaffold from {baseline}")
    print_table(results, reference)


if __name__ == "__main__":
    main()
