"""Small shared timing helpers: run commands interleaved, report min/median/max and peak RSS."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


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
    argv: Sequence[str], cwd: str | None = None, env: dict | None = None
) -> tuple[float, float]:
    """Run argv; return (wall seconds, peak RSS of the child in MB). Fails loudly on error."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def interleave(
    rounds: int, jobs: dict[str, Callable[[int], tuple[float, float]]]
) -> dict[str, Series]:
    """Run each job once per round, in turn, so machine noise hits all of them alike."""
    results = {name: Series(name) for name in jobs}
    for i in range(rounds):
        for name, job in jobs.items():
            seconds, peak = job(i)
            results[name].seconds.append(seconds)
            results[name].peak_mb.append(peak)
    return results
