"""Benchmark: wall time from `scaffold new` to the first 200 through nginx, per framework.

Each round runs `scaffold new` (the CLI, as a user would) and then `scaffold check`'s flow
in-process, recording each stage's seconds and the moment the first HTTPS /healthz through nginx
answered 200. One unmeasured warm-up round per framework fills uv's package cache first, so the
numbers are "warm cache". Rounds alternate the check's two orders: the project's tests running
alongside the serving stages (the default) and one stage after another. Prints a markdown table
of medians.

Bytecode: scaffold's own venv is compiled first (`prepare_bytecode`) and PYTHONDONTWRITEBYTECODE
is unset, so `scaffold new` runs as after `pip install`. The project's fresh venv is part of
what is timed: `scaffold check` installs it as it always does (uv, no --compile-bytecode), and
its modules are compiled on first import and cached, as on a user's machine.

    python benchmarks/new_to_200.py [--rounds 3] [--frameworks flask django]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import prepare_bytecode  # noqa: E402

TARGET_SECONDS = 15.0
COLUMNS = ("new", "venv", "install", "tests", "checks", "gunicorn", "nginx→200")


def one_round(framework: str, alongside: bool = True) -> dict[str, float]:
    from scaffold.check import Progress, run_check

    workdir = Path(tempfile.mkdtemp(prefix="bench-200-"))
    try:
        project = workdir / "site"
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "scaffold",
                "new",
                str(project),
                "--framework",
                framework,
                "--defaults",
            ],
            check=True,
            capture_output=True,
        )
        created = time.monotonic()
        times = {"new": created - started}
        stage_started: dict[str, float] = {}

        def first_200(what: str) -> None:
            now = time.monotonic()
            times["nginx→200"] = now - stage_started["nginx"]
            times["to first 200"] = now - started

        progress = Progress(
            started=lambda name: stage_started.setdefault(name, time.monotonic()),
            finished=lambda result: times.setdefault(result.name, result.seconds),
            milestone=first_200,
        )
        report = run_check(project, progress=progress, tests_alongside=alongside)
        if report.failed is not None:
            raise SystemExit(
                f"{framework}: stage {report.failed.name} failed: {report.failed.message}"
            )
        times["whole check"] = time.monotonic() - created
        return times
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frameworks", nargs="*")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop)  # so the check's cleanup runs when we are stopped
    bytecode = prepare_bytecode()
    from scaffold import catalog
    from scaffold.render import templates_root

    names = args.frameworks or [
        name for name in catalog.names() if (templates_root() / name).is_dir()
    ]
    print(
        f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} rounds={args.rounds} "
        f"(median; warm uv cache)\n{bytecode}\n"
    )
    header = [*COLUMNS, "to first 200", "whole check"]
    print("| framework, tests | " + " | ".join(header) + " | target |")
    print("|---" * (len(header) + 2) + "|")
    for name in names:
        one_round(name)  # warm-up: fills uv's cache with this framework's wheels
        rounds: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for _ in range(args.rounds):
            for alongside in (True, False):
                rounds[alongside].append(one_round(name, alongside))
        for alongside, measured in rounds.items():
            cells = [f"{statistics.median(r[column] for r in measured):.2f}" for column in header]
            to_200 = statistics.median(r["to first 200"] for r in measured)
            verdict = "ok" if to_200 <= TARGET_SECONDS else f"over {TARGET_SECONDS:.0f}s"
            order = "alongside" if alongside else "before boot"
            print(f"| {name}, {order} | " + " | ".join(cells) + f" | {verdict} |", flush=True)


def stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
