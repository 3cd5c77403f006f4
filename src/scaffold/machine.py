"""A throwaway Debian machine with systemd as PID 1, for rehearsing a real deployment.

Each machine boots an overlay of a cached root filesystem (`scaffold.rootfs`) with
`systemd-nspawn --boot --private-network`, so runs stay independent and the cache is never
written; commands run inside through `nsenter`. Nothing inside can reach a network, except a
bridge of a private network namespace (`scaffold.network`) that several machines share.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from scaffold.errors import OperationFailed
from scaffold.network import PrivateNetwork
from scaffold.rootfs import RootFilesystem

BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 90.0  # a service's TimeoutStopSec (40 s for the app) and then some


@dataclass(frozen=True)
class Bind:
    source: Path
    target: str
    read_only: bool = True


class Machine:
    """One booted machine on an overlay of a root filesystem; stop() removes every trace.

    What the machine writes (the overlay's upper layer) lives in a tmpfs mounted at `work`:
    a deployed project's venv is thousands of files, and deleting them from a disk mounted
    with `discard` took longer than the whole rehearsal; unmounting a tmpfs takes no time.
    """

    def __init__(
        self,
        rootfs: RootFilesystem,
        work: Path,
        binds: Sequence[Bind] = (),
        log: Path | None = None,
        network: PrivateNetwork | None = None,
    ) -> None:
        self.rootfs = rootfs
        self.work = work
        self.binds = tuple(binds)
        self.network = network
        self.merged = work / "root"
        self.log = log or work.with_name(f"{work.name}.log")  # outlives the tmpfs
        self.nspawn: subprocess.Popen[bytes] | None = None
        self.cgroup: Path | None = None
        self.leader: int | None = None
        self.kept = False

    def _mount_work(self) -> None:
        if os.path.ismount(self.work):
            return
        self.work.mkdir(parents=True, exist_ok=True)
        _run(["mount", "-t", "tmpfs", "-o", "mode=0700", "scaffold-machine", str(self.work)])
        for name in ("upper", "overlay-work", "root"):
            (self.work / name).mkdir()

    def stage(self, target: str) -> Path:
        """Where to put files before start() so the machine finds them at target (an absolute
        path inside it): the overlay's upper layer, so the cache stays untouched."""
        self._mount_work()
        path = self.work / "upper" / target.lstrip("/")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self) -> None:
        self._mount_work()
        options = (
            f"lowerdir={self.rootfs.path},upperdir={self.work / 'upper'},"
            f"workdir={self.work / 'overlay-work'}"
        )
        _run(["mount", "-t", "overlay", "overlay", "-o", options, str(self.merged)])
        network = self.network
        command = [
            *(network.enter() if network else ()),
            "systemd-nspawn",
            "--quiet",
            "--register=no",
            "--keep-unit",
            "--boot",
            f"--network-bridge={network.bridge}" if network else "--private-network",
            "--console=read-only",
            "-D",
            str(self.merged),
            "--machine",
            f"rehearsal-{os.getpid()}-{time.monotonic_ns() % 100000}",
        ]
        for bind in self.binds:
            flag = "--bind-ro" if bind.read_only else "--bind"
            command.append(f"{flag}={bind.source}:{bind.target}")
        with self.log.open("ab") as sink:
            cgroup = self._own_cgroup()
            self.nspawn = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # nspawn puts the machine under the cgroup it starts in, so in a shared one two
                # machines' shop.service were one cgroup, and stopping one waited on the other.
                preexec_fn=(lambda: cgroup.joinpath("cgroup.procs").write_text("0"))
                if cgroup
                else None,
            )
        self.leader = self._find_leader()
        self._wait_booted()

    def _own_cgroup(self) -> Path | None:
        """A cgroup of the machine's own in the unified hierarchy, below ours, if there is one."""
        mounts = [Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")]
        root = next((m for m in mounts if (m / "cgroup.procs").is_file()), None)
        ours = Path("/proc/self/cgroup").read_text().splitlines()
        unified = next((line[3:] for line in ours if line.startswith("0::")), None)
        if root is None or unified is None:
            return None
        self.cgroup = root / unified.lstrip("/") / f"scaffold-{self.work.name}-{os.getpid()}"
        self.cgroup.mkdir(parents=True, exist_ok=True)
        return self.cgroup

    def _wait_booted(self) -> None:
        """Until systemd says the boot finished; its bus may not answer in the first moments."""
        deadline = time.monotonic() + BOOT_TIMEOUT
        state = ""
        while time.monotonic() < deadline:
            left = max(1.0, deadline - time.monotonic())
            state = self.run(
                "systemctl", "is-system-running", "--wait", check=False, timeout=left
            ).stdout.strip()
            if state in ("running", "degraded"):
                return
            if state in ("maintenance", "stopping"):
                break
            time.sleep(0.1)  # "offline" too: systemctl cannot reach a manager still starting
        raise OperationFailed(
            f"the machine did not finish booting (systemd says {state!r})", f"see {self.log}"
        )

    def _find_leader(self) -> int:
        """nspawn's child is the machine's PID 1 (systemd); wait until it is systemd."""
        assert self.nspawn is not None
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise OperationFailed(
                    f"systemd-nspawn exited with code {self.nspawn.returncode} while booting",
                    f"see {self.log}",
                )
            for child in _children(self.nspawn.pid):
                with contextlib.suppress(OSError):
                    if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                        return child
            time.sleep(0.05)
        raise OperationFailed(
            f"the machine did not boot within {BOOT_TIMEOUT:.0f}s", f"see {self.log}"
        )

    def command(self, *args: str, cwd: str = "/") -> list[str]:
        """argv that runs args inside the machine (all of its namespaces, root, a clean PATH),
        in the directory cwd there."""
        assert self.leader is not None
        return [
            "nsenter",
            "-t",
            str(self.leader),
            "-a",
            "--",
            "/usr/bin/env",
            "-i",
            f"--chdir={cwd}",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8",
            *args,
        ]

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 120,
        input: str | None = None,
        cwd: str = "/",
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                self.command(*args, cwd=cwd),
                capture_output=True,
                text=True,
                timeout=timeout,
                input=input,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise OperationFailed(
                f"`{' '.join(args)}` in the machine timed out after {timeout:.0f}s"
            ) from error
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise OperationFailed(
                f"`{' '.join(args)}` in the machine exited with code "
                f"{result.returncode}" + (f": {detail[-1]}" if detail else "")
            )
        return result

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """Start args inside the machine in the background; read its output from stdout."""
        return subprocess.Popen(
            self.command(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    def keep(self, remove: Path | None = None) -> Path:
        """Leave the machine running after we exit; the script that stops it and removes
        `remove` (default: its work directory)."""
        assert self.nspawn is not None and self.leader is not None
        self.kept = True
        script = self.work.with_name("stop.sh")  # outside the tmpfs it unmounts
        merged, work = shlex.quote(str(self.merged)), shlex.quote(str(self.work))
        target = shlex.quote(str(remove or self.work))
        script.write_text(
            "#!/bin/sh\n"
            "# Stop the machine kept by `scaffold check --systemd --keep`, then remove it.\n"
            # Its PID 1, if that is still systemd: the kernel ends the rest.
            f'[ "$(cat /proc/{self.leader}/comm 2>/dev/null)" = systemd ] && '
            f"kill -9 {self.leader}\n"
            f"for _ in $(seq 50); do kill -0 {self.nspawn.pid} 2>/dev/null || break; "
            "sleep 0.2; done\n"
            f"! mountpoint -q {merged} || umount {merged} || umount --lazy {merged}\n"
            f"! mountpoint -q {work} || umount {work} || umount --lazy {work}\n"
            f"rm -rf {target}\n"
        )
        script.chmod(0o755)
        return script

    def stop(self) -> None:
        """Kill the machine, unmount the overlay, keep nothing running; a kept machine is left
        alone. Killed, not powered off: nothing in a throwaway machine needs a clean shutdown,
        and stopping its services (gunicorn's graceful timeout, PostgreSQL) took seconds."""
        if self.kept:
            return
        with interrupts_deferred():
            self._stop()

    def power_off(self, graceful: bool = False) -> None:
        """Cut the machine's power: its processes die at once and its network link goes; or,
        graceful, `systemctl poweroff` inside: systemd stops every service first. What it
        wrote stays either way, so start() boots it again as it was."""
        with interrupts_deferred():
            if graceful and self.nspawn is not None:
                self.run("systemctl", "poweroff", check=False, timeout=30)
                try:
                    self.nspawn.wait(timeout=SHUTDOWN_TIMEOUT)
                except subprocess.TimeoutExpired:
                    raise OperationFailed(
                        f"the machine was still shutting down after {SHUTDOWN_TIMEOUT:.0f}s",
                        f"see {self.log}",
                    ) from None
            self._kill()
            if os.path.ismount(self.merged):
                _run(["umount", str(self.merged)])
            self.nspawn = self.leader = None

    def _stop(self) -> None:
        self._kill()
        for mount in (self.merged, self.work):
            if os.path.ismount(mount):
                _run(["umount", str(mount)], check=False)
                if os.path.ismount(mount):
                    _run(["umount", "--lazy", str(mount)], check=False)

    def _kill(self) -> None:
        if self.nspawn is not None and self.nspawn.poll() is None:
            if self.leader is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.leader, signal.SIGKILL)  # PID 1: the kernel ends the rest
            try:
                self.nspawn.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.nspawn.pid, signal.SIGKILL)
                self.nspawn.wait(timeout=10)
        self._remove_cgroup()

    def _remove_cgroup(self) -> None:
        """The machine's cgroup and the ones its systemd made, deepest first, once empty."""
        if self.cgroup is None or not self.cgroup.is_dir():
            return
        for path in sorted(self.cgroup.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir():
                with contextlib.suppress(OSError):
                    path.rmdir()
        with contextlib.suppress(OSError):
            self.cgroup.rmdir()

    def __enter__(self) -> Machine:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (then take effect): a second Ctrl-C
    during cleanup would leave the overlay and the tmpfs mounted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _children(pid: int) -> Iterator[int]:
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                yield int(child)


def _run(command: list[str], check: bool = True) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise OperationFailed(
            f"`{' '.join(command)}` failed: {result.stderr.strip()}",
            "the rehearsal needs root and overlayfs",
        )
