"""Benchmark 5: wall time of the whole template matrix (render checks and boots), 2 workers.

pytest and scaffold run from this interpreter's venv with bytecode compiled (`prepare_bytecode`);
the venvs the boots create compile their modules on first import, as on a user's machine.

python benchmarks/matrix.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from _measure import prepare_bytecode  # noqa: E402


def main() -> int:
    print(prepare_bytecode(), flush=True)
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "tests/test_matrix.py",
        ],
        cwd=REPO,
    )
    print(f"matrix: exit {result.returncode}, wall {time.perf_counter() - start:.0f} s")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
