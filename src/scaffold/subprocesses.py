"""Running the project's programs: a command into a log with a timeout, or a server behind us.

Every child starts in its own session, so stopping it means signalling its whole process group
(gunicorn's and nginx's workers included) and nothing of ours survives a failure or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from scaffold.errors import OperationFailed


def tail_lines(path: Path | None, count: int = 20) -> list[str]:
    """The last lines of a log, for showing what went wrong."""
    if path is None or not path.is_file():
        return []
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 64_000))
        lines = handle.read().decode("utf-8", "replace").splitlines()
    return [line for line in lines if line.strip()][-count:]


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group."""
    members = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    if not Path("/proc").is_dir():  # no procfs: fall back to asking the kernel about the group
        try:
            os.killpg(pgid, 0)
            members.append(pgid)
        except (ProcessLookupError, PermissionError):
            pass
    return members


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def run_logged(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    timeout: float,
    on_line: Callable[[str], None] | None = None,
    label: str = "",
) -> None:
    """Run command to completion, its output appended to log; raise OperationFailed if it fails.

    label names the command in error messages (default: the program and its first arguments).
    """
    label = label or " ".join([Path(command[0]).name, *command[1:3]])
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        sink.write(f"$ {' '.join(command)}\n".encode())
        sink.flush()
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise OperationFailed(f"cannot run {command[0]}: {error.strerror}") from error

        def copy_output() -> None:
            assert process.stdout is not None
            for raw in process.stdout:
                sink.write(raw)
                sink.flush()
                if on_line is not None:
                    on_line(raw.decode("utf-8", "replace").rstrip())

        reader = threading.Thread(target=copy_output, daemon=True)
        reader.start()
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise OperationFailed(f"`{label}` timed out after {timeout:.0f}s") from None
        except BaseException:
            _kill_group(process)
            raise
        finally:
            reader.join(timeout=5)
        if code != 0:
            raise OperationFailed(f"`{label}` exited with code {code}")


class BackgroundProcess:
    """A server started in its own process group, its output going to a log file."""

    def __init__(
        self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path
    ) -> None:
        self.command = list(command)
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            try:
                self.process = subprocess.Popen(
                    self.command,
                    cwd=cwd,
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                raise OperationFailed(f"cannot run {command[0]}: {error.strerror}") from error

    @property
    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self, sig: int, timeout: float) -> float | None:
        """Signal the main process and wait; the seconds it took, or None if it did not exit."""
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - started

    def leftovers(self, grace: float = 2.0) -> list[int]:
        """Processes of this group still alive after the main one exited (waits up to grace)."""
        deadline = time.monotonic() + grace
        while (members := group_members(self.process.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return members

    def kill(self) -> None:
        """Stop the whole group now; safe to call more than once."""
        _kill_group(self.process)
