"""The wheels a rehearsal machine installs from. The machine has no network, like many
production hosts behind a firewall, so the wheels are built here for the machine's Python and
platform, and cached per requirement set under the machine cache, built once under a lock.

The project's runtime dependencies and its build backend go in (`pip install --no-index
--find-links` builds the project itself from source, as on a server); the project does not, so
one wheelhouse serves every project with the same requirements.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import sys
import tomllib
from pathlib import Path

from scaffold.errors import BadInput, OperationFailed
from scaffold.rootfs import cache_root
from scaffold.subprocesses import run_logged
from scaffold.venv import find_uv

BUILD_TIMEOUT = 600
# Wheels for any glibc up to the oldest rehearsal release's (bookworm: 2.36) run on all of them.
MANYLINUX = tuple(f"manylinux_2_{minor}" for minor in range(17, 37))


def requirements_of(project: Path) -> list[str]:
    """The project's runtime dependencies and its build-system requirements, sorted."""
    data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    found = [*data.get("project", {}).get("dependencies", [])]
    found += data.get("build-system", {}).get("requires", [])
    return sorted(set(found))


def platform_tags() -> list[str]:
    arch = platform.machine()
    return ["manylinux2014_" + arch, *(f"{tag}_{arch}" for tag in MANYLINUX)]


def require_tools(python: str) -> None:
    """Refuse, with the fix, when this machine cannot build the wheelhouse for `python`."""
    if importlib.util.find_spec("pip") is None:
        raise BadInput(
            "the systemd rehearsal downloads its wheels with pip, which scaffold's Python lacks",
            f"install it: {sys.executable} -m ensurepip",
        )
    if find_uv() is None and python != ".".join(platform.python_version_tuple()[:2]):
        raise BadInput(
            f"a wheelhouse for Python {python} needs uv to resolve the dependencies for it "
            f"(scaffold runs on Python {platform.python_version()})",
            "install it: pip install uv",
        )


class Wheelhouse:
    """The cached wheels for one requirement set on one Python (`python`, e.g. "3.13")."""

    def __init__(self, requirements: list[str], python: str) -> None:
        self.requirements = requirements
        self.python = python
        key = json.dumps([requirements, python, platform_tags()]).encode()
        self.path = cache_root() / "wheelhouses" / hashlib.sha256(key).hexdigest()[:16]

    @property
    def ready(self) -> bool:
        return (self.path / ".scaffold-ready").is_file()

    def ensure(self, log: Path) -> bool:
        """Download the wheels unless cached; True when it did now. Concurrent callers wait on
        the lock instead of downloading twice."""
        if self.ready:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.path}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (self.path / ".scaffold-ready").is_file():  # built by another while we waited
                return False
            staging = self.path.with_name(f"{self.path.name}.building")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            try:
                self._download(staging, log)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            (staging / ".scaffold-ready").write_text("\n".join(self.requirements) + "\n")
            shutil.rmtree(self.path, ignore_errors=True)
            staging.rename(self.path)
        return True

    def _download(self, staging: Path, log: Path) -> None:
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        wanted = staging / "requirements.in"
        wanted.write_text("\n".join(self.requirements) + "\n")
        uv = find_uv()
        pip = [sys.executable, "-m", "pip"]
        if uv is None:  # the same Python here (require_tools): pip resolves for it correctly
            download = [*pip, "download", "--dest", str(staging), "-r", str(wanted)]
        else:
            # pip download evaluates markers for the running Python, not --python-version:
            # WebOb's `legacy-cgi; python_version >= "3.13"` would be missed. uv resolves for
            # the machine's Python; pip then fetches exactly those pins, built for it.
            pinned = staging / "requirements.txt"
            run_logged(
                [
                    uv,
                    "pip",
                    "compile",
                    "--quiet",
                    "--no-header",
                    "--no-annotate",
                    "--python-version",
                    self.python,
                    "--python-platform",
                    f"{platform.machine()}-{MANYLINUX[-1]}",
                    "--output-file",
                    str(pinned),
                    str(wanted),
                ],
                cwd=staging,
                env=env,
                log=log,
                timeout=BUILD_TIMEOUT,
                label="uv pip compile",
            )
            download = [*pip, "download", "--dest", str(staging), "--no-deps", "-r", str(pinned)]
            download += ["--implementation", "cp", "--python-version", self.python]
            for tag in platform_tags():
                download += ["--platform", tag]
        run_logged(
            download, cwd=staging, env=env, log=log, timeout=BUILD_TIMEOUT, label="pip download"
        )
        self._build_sdists(staging, pip, env, log)

    def _build_sdists(self, staging: Path, pip: list[str], env: dict[str, str], log: Path) -> None:
        """A requirement published without wheels (pyramid_chameleon) came as an sdist: build
        it into a wheel here, since the machine has no network to fetch its build backend."""
        for sdist in [*staging.glob("*.tar.gz"), *staging.glob("*.zip")]:
            built = staging / "built"
            run_logged(
                [*pip, "wheel", "--no-deps", "--wheel-dir", str(built), str(sdist)],
                cwd=staging,
                env=env,
                log=log,
                timeout=BUILD_TIMEOUT,
                label=f"pip wheel {sdist.name}",
            )
            for wheel in built.glob("*.whl"):
                if not wheel.name.endswith("-none-any.whl") and not self._host_python:
                    raise OperationFailed(
                        f"{sdist.name} has no wheel for Python {self.python} and builds only "
                        f"for this Python ({wheel.name})",
                        "rehearse with the python_version scaffold runs on",
                    )
                wheel.rename(staging / wheel.name)
            sdist.unlink()

    @property
    def _host_python(self) -> bool:
        return self.python == ".".join(platform.python_version_tuple()[:2])
