"""The cached Debian root filesystems a rehearsal machine boots, and what the host needs.

Each comes from `debootstrap` (from the mirror apt already uses), per Debian release and
package set, built once under a lock; `release_for` picks the release whose python3 suits a
project, `require_host` refuses, with the package to install, a host that cannot boot one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scaffold.errors import BadInput
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
# The several-machine rehearsal's image adds these: Ansible reaches each machine by SSH and
# becomes root with sudo. Kept out of the one-machine image, which needs neither.
CLUSTER_PACKAGES = (*BASE_PACKAGES, "openssh-server", "sudo")
# Present in the image, started only by a rehearsal that needs it.
MASKED_SERVICES = ("postgresql.service", "ssh.service")
DEBOOTSTRAP_TIMEOUT = 1200
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def python_of(release: str) -> str:
    """The python3 version a Debian release ships, e.g. "3.11" for bookworm."""
    return dict(DEBIAN_PYTHONS)[release]


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
