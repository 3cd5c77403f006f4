"""Benchmark: wall time of `scaffold check --systemd` per framework, warm and cold.

Warm: the root filesystem and the wheelhouse are cached (one untimed round per framework fills
the wheelhouse first); each round generates a project and runs the CLI, as a user would, and
the table gives the median of the total and of the longest stages. Cold (`--cold`, once, for
the first framework): SCAFFOLD_MACHINE_CACHE points at an empty directory, so debootstrap
builds the root filesystem and the wheels are downloaded again within the timed run.

Needs root, debootstrap and systemd-container, like the rehearsal itself.

    python benchmarks/rehearsal.py [--rounds 3] [--frameworks flask django] [--cold]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import prepare_bytecode  # noqa: E402

TARGET_SECONDS = 60.0
STAGES = ("machine", "install", "restart", "reload", "redeploy")


def one_round(framework: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """`scaffold new` then `scaffold check --systemd --json`; the seconds of each."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-rehearsal-"))
    try:
        project = workdir / "shop"
        new = [sys.executable, "-m", "scaffold", "new", str(project), "-f", framework]
        subprocess.run([*new, "--defaults"], check=True, capture_output=True)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "scaffold", "check", "--systemd", "--json", str(project)],
            capture_output=True,
            text=True,
            env=env,
        )
        total = time.monotonic() - started
        report = json.loads(done.stdout)
        if not report["passed"]:
            raise SystemExit(f"{framework}: rehearsal failed at {report['failed_stage']}")
        stages = {stage["name"]: stage["seconds"] for stage in report["stages"]}
        return {"total": total, **{name: stages[name] for name in STAGES}}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--frameworks", nargs="+", default=["flask", "django", "fastapi", "falcon", "pyramid"]
    )
    parser.add_argument("--cold", action="store_true", help="also one round on an empty cache")
    args = parser.parse_args()
    print(prepare_bytecode())
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    for framework in args.frameworks:  # untimed: fills each requirement set's wheelhouse
        one_round(framework)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in args.frameworks}
    for _ in range(args.rounds):  # interleaved, so machine noise hits every framework alike
        for framework in args.frameworks:
            rows[framework].append(one_round(framework))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    columns = ("total", *STAGES)
    print("| framework | " + " | ".join(f"{c} s" for c in columns) + " | min-max total |")
    print("| --- |" + " ---: |" * (len(columns) + 1))
    worst = 0.0
    for framework, results in rows.items():
        medians = [statistics.median(r[c] for r in results) for c in columns]
        totals = [r["total"] for r in results]
        worst = max(worst, medians[0])
        cells = " | ".join(f"{m:.1f}" for m in medians)
        print(f"| {framework} (warm) | {cells} | {min(totals):.1f}-{max(totals):.1f} |")
    if args.cold:
        cache = Path(tempfile.mkdtemp(prefix="bench-machine-cache-"))
        try:
            empty = {**os.environ, "SCAFFOLD_MACHINE_CACHE": str(cache)}
            cold = one_round(args.frameworks[0], empty)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        cells = " | ".join(f"{cold[c]:.1f}" for c in columns)
        print(f"| {args.frameworks[0]} (cold cache, 1 run) | {cells} | - |")
    verdict = "met" if worst <= TARGET_SECONDS else "missed"
    print(f"slowest warm median {worst:.1f} s; target <= {TARGET_SECONDS:.0f} s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
