"""Run every benchmark, or the ones named, each in its own process, printing their tables.

python benchmarks/run.py                 # all
python benchmarks/run.py generation update
python benchmarks/run.py --list

Each script prepares bytecode itself (`_measure.prepare_bytecode`: compiles every module the
timed interpreters import and unsets PYTHONDONTWRITEBYTECODE), so a single one run alone
measures the same thing as it does here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
# name -> (script, what it measures); scripts take their own --help.
BENCHMARKS = {
    "generation": ("generation.py", "scaffold new vs django-admin startproject vs copier copy"),
    "update": ("update.py", "scaffold update vs copier update on one template change"),
    "new-to-200": ("new_to_200.py", "scaffold new -> first 200 through nginx, by stage"),
    "serving": ("serving.py", "requests/s through nginx vs gunicorn direct vs bare hello-world"),
    "falcon-serving": ("falcon_serving.py", "Falcon WSGI/ASGI through nginx vs bare Falcon"),
    "load-faults": ("load_faults.py", "30 s load, kill -9 a worker, HUP reload, SIGTERM drain"),
    "matrix": ("matrix.py", "wall time of the whole template matrix"),
    "cluster": ("cluster.py", "req/s through nginx with 1, 2, 3 app machines; failover, rolling"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="NAME")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args()
    if args.list:
        for name, (_, what) in BENCHMARKS.items():
            print(f"{name:<15} {what}")
        return 0
    failed = []
    for name in args.names or BENCHMARKS:
        script, what = BENCHMARKS[name]
        print(f"\n## {name}: {what}\n$ python benchmarks/{script}", flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(HERE / script)]).returncode
        print(f"({name}: exit {code}, {time.perf_counter() - start:.0f} s)", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
