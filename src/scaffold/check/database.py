"""The database a check run uses. A `database=postgresql` project gets DATABASE_URL from the
caller's environment when it is set; otherwise a throwaway PostgreSQL cluster, listening on a
unix socket only, lives as long as the run (Debian's `postgresql` package has the programs).

sqlite projects need nothing: their file lands in the run's state directory."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from scaffold.check.preflight import Target
from scaffold.errors import BadInput, OperationFailed

SERVER_USER = "postgres"  # initdb refuses root; Debian's package makes this user
START_TIMEOUT = 120


def _program(name: str) -> str | None:
    """The newest installed server's program (Debian keeps them out of PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major)
    return found[-1] if found else shutil.which(name)


def _major(path: str) -> int:
    version = Path(path).parents[1].name
    return int(version) if version.isdigit() else 0


def needs_cluster(target: Target) -> bool:
    return target.answers.get("database") == "postgresql" and not os.environ.get("DATABASE_URL")


def require_server(target: Target) -> None:
    """Refuse, before anything exists, a PostgreSQL project this machine cannot give one."""
    if not needs_cluster(target):
        return
    hint = "install PostgreSQL's server (sudo apt-get install postgresql) or set DATABASE_URL"
    if _program("initdb") is None or _program("pg_ctl") is None:
        raise BadInput("this project uses PostgreSQL and DATABASE_URL is not set", hint)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise BadInput(
                f"PostgreSQL refuses to run as root and there is no {SERVER_USER!r} user",
                hint,
            ) from None


def _reachable_by_others(path: Path) -> bool:
    """Whether another user can reach path: every directory on the way lets others through."""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [path.resolve(), *path.resolve().parents])


class Cluster:
    """initdb + pg_ctl start in a directory of its own; `stop` ends it and removes it."""

    def __init__(self, root: Path) -> None:
        # Its own directory, not inside the 0700 work directory: the server's user must reach it.
        if os.geteuid() == 0 and not _reachable_by_others(root):
            root = Path("/tmp")  # noqa: S108 - a private directory is made inside it
        self.path = Path(tempfile.mkdtemp(prefix="scaffold-check-pg-", dir=root))
        self.data = self.path / "data"
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.path, user.pw_uid, user.pw_gid)
            self.run_as = ["runuser", "-u", SERVER_USER, "--"]
        os.chmod(self.path, 0o755)  # noqa: S103 - the app's user connects to the socket in it
        self.started = False

    @property
    def url(self) -> str:
        # libpq, psycopg, SQLAlchemy and dj-database-url all read the socket directory this way.
        return f"postgresql://{SERVER_USER}@/postgres?host={self.path}"

    def start(self, log: Path) -> None:
        options = f"-c listen_addresses='' -k {self.path} -c fsync=off"
        steps = [
            [
                _program("initdb") or "initdb",
                "-D",
                str(self.data),
                "--auth=trust",
                "-U",
                SERVER_USER,
            ],
            [_program("pg_ctl") or "pg_ctl", "-D", str(self.data), "-o", options, "-w"]
            + ["-l", str(self.path / "server.log"), "start"],
        ]
        with open(log, "ab") as output:
            for step in steps:
                try:
                    subprocess.run(  # noqa: S603 - our own argv
                        [*self.run_as, *step],
                        stdin=subprocess.DEVNULL,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        check=True,
                        timeout=START_TIMEOUT,
                    )
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
                    output.flush()
                    said = log.read_text(errors="replace").strip().splitlines()[-1:]
                    raise OperationFailed(
                        f"the throwaway PostgreSQL server did not start: {Path(step[0]).name} "
                        f"failed{': ' + said[0] if said else ''}",
                        "set DATABASE_URL to a database the check may use",
                    ) from error
                self.started = True

    def stop(self) -> None:
        if self.started:
            subprocess.run(  # noqa: S603 - our own argv
                [*self.run_as, _program("pg_ctl") or "pg_ctl", "-D", str(self.data)]
                + ["-m", "immediate", "-w", "stop"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=START_TIMEOUT,
                check=False,
            )
        shutil.rmtree(self.path, ignore_errors=True)
