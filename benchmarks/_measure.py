"""Small shared timing helpers: run commands interleaved, report min/median/max and peak RSS.

Every benchmark times programs the way a user runs them after `pip install`: with bytecode.
`prepare_bytecode` is the one place that ensures it (see benchmarks/README.md).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Series:
    name: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def row(self, reference: Series | None = None) -> str:
        ratio = f"{self.median / reference.median:5.2f}x" if reference else "  ref "
        memory = f"{max(self.peak_mb):6.1f} MB" if self.peak_mb else "      -  "
        return (
            f"| {self.name:<34} | {min(self.seconds):6.3f} | {self.median:6.3f} | "
            f"{max(self.seconds):6.3f} | {memory} | {ratio} |"
        )


HEADER = (
    "| what                               |  min s | median |  max s |  peak RSS | ratio |\n"
    "| ---------------------------------- | -----: | -----: | -----: | --------: | ----: |"
)


def print_table(results: dict[str, Series], reference: Series) -> None:
    """The results as a Markdown table, each row's ratio against the reference series."""
    print(HEADER)
    for series in results.values():
        print(series.row(None if series is reference else reference))


def timed_run(
    argv: Sequence[str], cwd: str | None = None, env: dict | None = None, expect: int = 0
) -> tuple[float, float]:
    """Run argv; return (wall seconds, peak RSS of the child in MB). Fails loudly unless it
    exits with `expect` (0, or e.g. a check's "update available" code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != expect:
        raise SystemExit(
            f"{' '.join(argv)} exited {proc.returncode}, not {expect}: "
            f"{proc.stderr.read().decode()[-500:]}"
        )
    return elapsed, usage.ru_maxrss / 1024


def interleave(
    rounds: int, jobs: dict[str, Callable[[int], tuple[float, float]]], warmup: bool = True
) -> dict[str, Series]:
    """Run each job once per round, in turn, so machine noise hits all of them alike.

    With `warmup`, one untimed round first (index -1): the page cache holds every program's
    files and any bytecode a program still lacked is written before timing starts.
    """
    results = {name: Series(name) for name in jobs}
    if warmup:
        for job in jobs.values():
            job(-1)
    for i in range(rounds):
        for name, job in jobs.items():
            seconds, peak = job(i)
            results[name].seconds.append(seconds)
            results[name].peak_mb.append(peak)
    return results


# Runs inside the interpreter being prepared: compile every module on its import path (the
# stdlib, the venv's site-packages, editable sources reached through .pth files, and any extra
# folders such as a project put on PYTHONPATH), then count the sources whose cached bytecode
# does not match them, i.e. what that interpreter would still compile at import time.
_COMPILE = r"""
import compileall, importlib.util, os, sys, warnings
warnings.simplefilter("ignore")
roots = []
for entry in sys.path[1:] + sys.argv[1:]:  # sys.path[0] is this -c script's cwd: not a library
    path = os.path.realpath(entry)
    if os.path.isdir(path) and path not in roots:
        roots.append(path)
for root in roots:
    compileall.compile_dir(root, quiet=2)
sources = stale = 0
seen = set()
for root in roots:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            source = os.path.join(dirpath, name)
            if not name.endswith(".py") or source in seen:
                continue
            seen.add(source)
            sources += 1
            try:
                with open(importlib.util.cache_from_source(source), "rb") as cache:
                    header = cache.read(16)
            except OSError:
                stale += 1
                continue
            info = os.stat(source)
            flags = int.from_bytes(header[4:8], "little")
            mtime = int.from_bytes(header[8:12], "little")
            size = int.from_bytes(header[12:16], "little")
            if header[:4] != importlib.util.MAGIC_NUMBER or (
                flags == 0
                and (mtime != int(info.st_mtime) & 0xFFFFFFFF or size != info.st_size & 0xFFFFFFFF)
            ):
                stale += 1
print(sources, stale, len(roots))
"""


def prepare_bytecode(*pythons: str | os.PathLike[str], extra: Sequence[Path] = ()) -> str:
    """Measure what users run: bytecode compiled, and programs free to write their caches.

    Removes PYTHONDONTWRITEBYTECODE from this process's environment, so every program started
    afterwards (the reference and scaffold alike) may write bytecode it lacks, as on a user's
    machine; then compiles every module each interpreter can import, as `pip install` does for
    the packages it installs. Returns one line saying what was done, for the benchmark's output.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    lines = []
    for python in pythons or (sys.executable,):
        out = subprocess.run(
            [str(python), "-c", _COMPILE, *map(str, extra)],
            cwd="/",
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        sources, stale, roots = map(int, out)
        lines.append(
            f"bytecode: {sources - stale}/{sources} modules compiled on {python}'s path "
            f"({roots} folders; {stale} do not compile, e.g. test data with syntax errors)"
        )
    lines.append("PYTHONDONTWRITEBYTECODE unset for every timed program")
    return "\n".join(lines)
