"""The rehearsal machine: a cached Debian root filesystem (scaffold.rootfs) booted with systemd
as PID 1 (scaffold.machine)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scaffold.errors import BadInput
from scaffold.machine import Bind, Machine
from scaffold.rootfs import RootFilesystem, apt_mirror, python_of, release_for


@pytest.mark.parametrize(
    ("python", "release"), [("3.11", "bookworm"), ("3.12", "trixie"), ("3.13", "trixie")]
)
def test_the_release_is_the_oldest_whose_python_suffices(python: str, release: str) -> None:
    assert release_for(python) == release


def test_a_python_no_release_ships_is_one_line() -> None:
    with pytest.raises(BadInput, match="3.14 cannot be rehearsed"):
        release_for("3.14")


def test_the_mirror_is_the_one_apt_uses(tmp_path: Path) -> None:
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"
    )
    assert apt_mirror([deb822]) == "http://mirror.example/debian"
    one_line = tmp_path / "sources.list"
    one_line.write_text("# comment\ndeb [arch=amd64] http://other.example/debian bookworm main\n")
    assert apt_mirror([tmp_path / "missing", one_line]) == "http://other.example/debian"


@pytest.mark.slow
def test_a_machine_boots_systemd_and_leaves_the_cache_untouched(tmp_path: Path) -> None:
    rootfs = RootFilesystem("bookworm")
    rootfs.ensure(tmp_path / "build.log")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello").write_text("from the host\n")
    machine = Machine(rootfs, tmp_path / "machine", [Bind(shared, "/mnt/shared")])
    with machine:
        assert machine.run("cat", "/proc/1/comm").stdout.strip() == "systemd"
        assert machine.run("systemctl", "is-active", "nginx").stdout.strip() == "active"
        assert machine.run("cat", "/mnt/shared/hello").stdout == "from the host\n"
        machine.run("touch", "/etc/written-by-the-run")
        links = machine.run("ip", "-o", "link").stdout
        assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
    assert not (rootfs.path / "etc" / "written-by-the-run").exists()
    assert not os.path.ismount(machine.merged)
    assert machine.nspawn is not None and machine.nspawn.poll() is not None


def test_each_release_names_the_python_it_ships() -> None:
    assert [python_of(release_for(v)) for v in ("3.11", "3.12")] == ["3.11", "3.13"]


@pytest.mark.slow
def test_staged_files_are_in_the_machine_and_a_kept_machine_stops_with_its_script(
    tmp_path: Path,
) -> None:
    rootfs = RootFilesystem("bookworm")
    rootfs.ensure(tmp_path / "build.log")
    work = tmp_path / "run" / "machine"
    machine = Machine(rootfs, work)
    (machine.stage("/srv/shop") / "hello").write_text("staged\n")
    with machine:
        assert machine.run("cat", "hello", cwd="/srv/shop").stdout == "staged\n"
        stop = machine.keep(remove=tmp_path / "run")
    assert machine.nspawn is not None and machine.nspawn.poll() is None  # left running
    assert os.path.ismount(work)  # the tmpfs with what the machine wrote
    assert subprocess.run(["sh", str(stop)], timeout=60, check=False).returncode == 0
    machine.nspawn.wait(timeout=10)
    assert not (tmp_path / "run").exists()
    assert not os.path.ismount(machine.merged) and not os.path.ismount(work)
    assert not (rootfs.path / "srv" / "shop").exists()
