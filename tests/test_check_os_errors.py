"""`scaffold check` when the machine says no: a full or read-only TMPDIR, an unreadable project.

Real file systems, no mocks: small tmpfs mounts, read-only bind mounts, and permissions that
bite because the check runs without root's CAP_DAC_OVERRIDE (as an ordinary user would).
Each case: one `scaffold: error:` line naming the path and what to do (or, when a tool of the
project's filled the disk, its stage failing with that said), a non-zero exit, no traceback, no
work directory left behind and the project unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import available_frameworks, generate

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None or shutil.which("setpriv") is None,
    reason="needs root to mount tmpfs and bind mounts (CI runs as root)",
)
# Drop the capabilities that let root ignore file permissions; everything else stays root's.
AS_A_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
CHECK_TIMEOUT = 600


def scaffold_check(
    project: Path, tmpdir: Path, *extra: str, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "scaffold", "check", str(project), "--no-nginx", *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmpdir)},
        timeout=CHECK_TIMEOUT,
        check=False,
    )


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every path under root with its mode and bytes, .git and ignored files included."""
    return {
        str(path.relative_to(root)): (
            path.lstat().st_mode,
            path.read_bytes() if path.is_file() and not path.is_symlink() else b"",
        )
        for path in sorted(root.rglob("*"))
    }


def assert_one_error_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, result.stderr
    assert line.startswith("scaffold: error: "), line
    for text in expected:
        assert text in line, line
    return line


@pytest.fixture
def mount() -> Iterator[Callable[..., Path]]:
    """mount(kind, where, ...) -> where; every mount is undone at teardown, innermost first."""
    mounted: list[Path] = []

    def make(*args: str, where: Path) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *args, str(where)], check=True, capture_output=True)
        mounted.append(where)
        return where

    yield make
    for where in reversed(mounted):
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(where)], check=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    if "flask" not in available_frameworks():
        pytest.skip("the flask template is not there yet")
    return generate(tmp_path / "website", "flask")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short place for mount points: the check's unix socket paths must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="chk-os-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_full_tmpdir_is_one_line_naming_it(
    project: Path, short_tmp: Path, mount: Callable[..., Path]
) -> None:
    full = mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", where=short_tmp / "full")
    filler = (full / "filler").open("wb", buffering=0)
    with filler, pytest.raises(OSError, match="No space"):
        while True:
            filler.write(b"\0" * 65536)
    before = snapshot(project)
    result = scaffold_check(project, full)
    assert_one_error_line(
        result, f"TMPDIR: {full}: No space left on device", "free some space on that file system"
    )
    assert [path.name for path in full.iterdir()] == ["filler"], "the work directory was left"
    assert snapshot(project) == before


def test_tmpdir_filling_up_fails_the_stage_and_says_why(
    project: Path, short_tmp: Path, mount: Callable[..., Path]
) -> None:
    """Room for the logs, not for the venv: uv reports the full disk, the check says where."""
    small = mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", where=short_tmp / "small")
    before = snapshot(project)
    result = scaffold_check(project, small, "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    failed = next(row for row in report["stages"] if row["name"] == report["failed_stage"])
    assert failed["name"] in ("venv", "install"), failed
    assert f"no space left in TMPDIR {small}" in failed["message"], failed
    assert f"no space left in TMPDIR {small}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list(small.iterdir()) == [], "the work directory was left"
    assert snapshot(project) == before


def test_read_only_tmpdir_is_one_line_naming_it(
    project: Path, short_tmp: Path, mount: Callable[..., Path]
) -> None:
    source = short_tmp / "writable"
    source.mkdir()
    read_only = mount("--bind", str(source), where=short_tmp / "read-only")
    subprocess.run(["mount", "-o", "remount,bind,ro", str(read_only)], check=True)
    before = snapshot(project)
    result = scaffold_check(project, read_only)
    assert_one_error_line(
        result, f"TMPDIR: {read_only}: Read-only file system", "choose a writable place"
    )
    assert list(source.iterdir()) == []
    assert snapshot(project) == before


def test_missing_tmpdir_is_one_line_naming_it(project: Path, short_tmp: Path) -> None:
    gone = short_tmp / "gone"
    before = snapshot(project)
    result = scaffold_check(project, gone)
    assert_one_error_line(
        result, f"TMPDIR: {gone}: No such file or directory", "check that the path exists"
    )
    assert not gone.exists()
    assert snapshot(project) == before


@pytest.mark.slow
def test_unreadable_deploy_dir_names_the_stage_and_the_file(project: Path, short_tmp: Path) -> None:
    """Midway (venv, install and the tests running): the stage and file, and nothing left."""
    deploy = project / "deploy"
    tracked = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    deploy.chmod(0o000)
    try:
        result = scaffold_check(project, short_tmp, "--json", prefix=tuple(AS_A_USER))
    finally:
        deploy.chmod(0o755)
    assert_one_error_line(
        result,
        f"could not run the server stage: {deploy / 'gunicorn.conf.py'}: Permission denied",
        "fix its permissions",
    )
    assert list(short_tmp.iterdir()) == []
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    assert status == tracked
