"""A throwaway Debian machine with systemd as PID 1, for rehearsing a real deployment.

The root filesystem comes from `debootstrap` (from the mirror apt already uses) and is cached
per Debian release and package set, built once under a lock. Each machine boots an overlay of
it with `systemd-nspawn --boot --private-network`, so runs stay independent and the cache is
never written; commands run inside through `nsenter`. Nothing inside can reach a network.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from scaffold.errors import BadInput, OperationFailed
from scaffold.subprocesses import run_logged

# Debian releases and the python3 each ships; a project rehearses on the oldest release whose
# python3 satisfies its python_version (requires-python is a lower bound).
DEBIAN_PYTHONS = (("bookworm", "3.11"), ("trixie", "3.13"))
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "nginx-light",
    "python3",
    "python3-venv",
    "openssl",
    "ca-certificates",
    "curl",
    "procps",
    "iproute2",
    "postgresql",
)
# Present in the image, started only by a rehearsal that needs it.
MASKED_SERVICES = ("postgresql.service",)
DEBOOTSTRAP_TIMEOUT = 1200
BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def release_for(python_version: str) -> str:
    """The Debian release to rehearse a project needing python_version on; or refuse."""
    for release, python in DEBIAN_PYTHONS:
        if _version(python) >= _version(python_version):
            return release
    newest = DEBIAN_PYTHONS[-1]
    raise BadInput(
        f"python_version {python_version} cannot be rehearsed: the newest Debian release here "
        f"({newest[0]}) ships Python {newest[1]}",
        "rehearse with --data python_version=" + newest[1] + " or without --systemd",
    )


def missing_tools() -> list[str]:
    """Debian packages the rehearsal needs on this machine and does not find."""
    needs = {
        "debootstrap": "debootstrap",
        "systemd-nspawn": "systemd-container",
        "nsenter": "util-linux",
    }
    search = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    return [package for tool, package in needs.items() if shutil.which(tool, path=search) is None]


def require_host() -> None:
    """Refuse, with the fix, a machine that cannot boot a rehearsal machine."""
    if missing := missing_tools():
        raise BadInput(
            "the systemd rehearsal needs " + ", ".join(missing),
            f"install it: apt-get install -y {' '.join(missing)}",
        )
    if os.geteuid() != 0:
        raise BadInput(
            "the systemd rehearsal boots a machine with systemd-nspawn, which needs root",
            "run it as root, e.g. sudo scaffold check --systemd",
        )


def apt_mirror(
    sources: Sequence[Path] = (
        Path("/etc/apt/sources.list.d/debian.sources"),
        Path("/etc/apt/sources.list"),
    ),
) -> str:
    """The Debian mirror apt uses here (deb822 or one-line sources), else deb.debian.org."""
    for path in sources:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        for match in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            uri = match.group(1).rstrip("/")
            if uri.startswith("http") and not uri.endswith("-security"):
                return uri
    return DEFAULT_MIRROR


def cache_root() -> Path:
    return Path(os.environ.get("SCAFFOLD_MACHINE_CACHE", "/var/cache/scaffold/machines"))


@dataclass(frozen=True)
class RootFilesystem:
    """A cached Debian root filesystem for one release and package set."""

    release: str
    packages: tuple[str, ...] = BASE_PACKAGES

    @property
    def path(self) -> Path:
        key = hashlib.sha256(" ".join(sorted(self.packages)).encode()).hexdigest()[:10]
        return cache_root() / f"{self.release}-{key}"

    @property
    def ready(self) -> bool:
        return (self.path / ".scaffold-ready").is_file()

    def ensure(self, log: Path) -> bool:
        """Build the root filesystem unless cached; True when it was built now. Concurrent
        callers wait on a lock instead of building twice."""
        if self.ready:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.path}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (self.path / ".scaffold-ready").is_file():  # built by another while we waited
                return False
            staging = self.path.with_name(f"{self.path.name}.building")
            shutil.rmtree(staging, ignore_errors=True)
            try:
                self._build(staging, log)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            shutil.rmtree(self.path, ignore_errors=True)
            staging.rename(self.path)
        return True

    def _build(self, staging: Path, log: Path) -> None:
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(self.packages)}",
            self.release,
            str(staging),
            apt_mirror(),
        ]
        env = {
            **os.environ,
            "DEBIAN_FRONTEND": "noninteractive",
            "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin",
        }
        run_logged(
            command,
            cwd=staging.parent,
            env=env,
            log=log,
            timeout=DEBOOTSTRAP_TIMEOUT,
            label=f"debootstrap {self.release}",
        )
        for unit in MASKED_SERVICES:
            (staging / "etc/systemd/system" / unit).unlink(missing_ok=True)
            (staging / "etc/systemd/system" / unit).symlink_to("/dev/null")
        # No getty on the console: nspawn's console is ours, and nothing logs in there.
        (staging / "etc/systemd/system/console-getty.service").symlink_to("/dev/null")
        (staging / "etc/hostname").write_text("rehearsal\n")
        (staging / ".scaffold-ready").write_text(f"{self.release} {' '.join(self.packages)}\n")


@dataclass(frozen=True)
class Bind:
    source: Path
    target: str
    read_only: bool = True


class Machine:
    """One booted machine on an overlay of a root filesystem; stop() removes every trace."""

    def __init__(self, rootfs: RootFilesystem, work: Path, binds: Sequence[Bind] = ()) -> None:
        self.rootfs = rootfs
        self.work = work
        self.binds = tuple(binds)
        self.merged = work / "root"
        self.log = work / "machine.log"
        self.nspawn: subprocess.Popen[bytes] | None = None
        self.leader: int | None = None

    def start(self) -> None:
        for name in ("upper", "overlay-work", "root"):
            (self.work / name).mkdir(parents=True, exist_ok=True)
        options = (
            f"lowerdir={self.rootfs.path},upperdir={self.work / 'upper'},"
            f"workdir={self.work / 'overlay-work'}"
        )
        _run(["mount", "-t", "overlay", "overlay", "-o", options, str(self.merged)])
        command = [
            "systemd-nspawn",
            "--quiet",
            "--register=no",
            "--keep-unit",
            "--boot",
            "--private-network",
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
            self.nspawn = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.leader = self._find_leader()
        self._wait_booted()

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
            if state in ("maintenance", "stopping", "offline"):
                break
            time.sleep(0.1)
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

    def command(self, *args: str) -> list[str]:
        """argv that runs args inside the machine (all of its namespaces, root, a clean PATH)."""
        assert self.leader is not None
        return [
            "nsenter",
            "-t",
            str(self.leader),
            "-a",
            "--",
            "/usr/bin/env",
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8",
            *args,
        ]

    def run(
        self, *args: str, check: bool = True, timeout: float = 120, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                self.command(*args),
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

    def stop(self) -> None:
        """Power off (or kill) the machine, unmount the overlay, keep nothing running."""
        if self.nspawn is not None and self.nspawn.poll() is None:
            if self.leader is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.leader, signal.SIGRTMIN + 4)  # systemd: poweroff
            try:
                self.nspawn.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.nspawn.pid, signal.SIGKILL)
                self.nspawn.wait(timeout=10)
        if os.path.ismount(self.merged):
            _run(["umount", str(self.merged)], check=False)
            if os.path.ismount(self.merged):
                _run(["umount", "--lazy", str(self.merged)], check=False)

    def __enter__(self) -> Machine:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
