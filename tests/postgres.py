"""A throwaway PostgreSQL server for the Django + PostgreSQL boot (Debian's postgresql package)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is missing: apt-get install postgresql")
    return found[-1]


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """Start a trust-auth server on 127.0.0.1; yield its DATABASE_URL; always stop it."""
    # Not under pytest's tmp_path: its 0700 parents would lock the postgres user out.
    directory = Path(tempfile.mkdtemp(prefix="scaffold-pg-"))
    data = directory / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run it as the postgres user
        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*run_as, _bin("initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {directory}"
    subprocess.run(
        [
            *run_as,
            _bin("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(directory / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, _bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )


_RESET = """
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as c:
    c.execute("DROP SCHEMA public CASCADE")
    c.execute("CREATE SCHEMA public")
"""


def reset_postgres(url: str) -> None:
    """An empty database for the next case (a module shares one server)."""
    subprocess.run([sys.executable, "-c", _RESET, url], check=True, timeout=60, capture_output=True)
