"""When the operating system says no (full disk, read-only, permission, a path too long),
`new`, `update` and `adopt` print one line that names the path and what to do, exit non-zero,
and leave nothing behind.

The refusals are real: each case runs scaffold in a private mount namespace (`unshare`) with a
small tmpfs or a read-only bind mount, which vanish with the namespace. That works as root and,
through a user namespace, as an ordinary user.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import TEMPLATES, generate

SCAFFOLD = f"{sys.executable} -m scaffold"


def in_namespace(script: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a bash script in a new mount namespace; the exit code of its `scaffold` line and
    what that printed on stderr (the script writes them to fixed files)."""
    full = f"set -eu\n{script}\n"
    result = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "--propagation", "private", "bash", "-c", full],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"setup failed: {result.stderr}"
    return int((cwd / "code").read_text()), (cwd / "err").read_text()


def run_scaffold(args: str, out: Path) -> str:
    """The script line that runs scaffold and records its exit code and stderr."""
    return f"{SCAFFOLD} {args} 2>{out}/err >/dev/null && echo 0 >{out}/code || echo $? >{out}/code"


def assert_one_line(code: int, err: str, *fragments: str) -> None:
    assert code != 0, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("scaffold: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(oct(path.stat().st_mode).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def changed_templates(tmp_path: Path) -> Path:
    """A template release that changes one file, so an update has something to write."""
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    editorconfig = copy / "base" / "template" / ".editorconfig"
    editorconfig.write_text(editorconfig.read_text() + "\n[*.md]\nindent_size = 2\n")
    return copy


@pytest.mark.parametrize(
    ("dest", "fragments"),
    [
        ("/proc/scaffold-x", ["/proc"]),
        ("/sys/scaffold-x", ["/sys"]),
        ("{tmp}/" + "n" * 300, ["File name too long", "shorter path"]),
    ],
)
def test_new_where_the_system_refuses(dest: str, fragments: list[str], tmp_path: Path) -> None:
    dest = dest.format(tmp=tmp_path)
    code, err = in_namespace(run_scaffold(f"new {dest} -f flask --defaults", tmp_path), tmp_path)
    assert_one_line(code, err, *fragments)
    assert not Path(dest).exists() if len(Path(dest).name) < 255 else True


def test_new_on_a_full_disk_leaves_no_staging_directory(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    script = f"""
mount -t tmpfs -o size=96k tmpfs {disk}
{run_scaffold(f"new {disk}/shop -f flask --defaults", tmp_path)}
ls -A {disk} >left
"""
    code, err = in_namespace(script, tmp_path)
    assert_one_line(code, err, "No space left on device", "free some space")
    assert (tmp_path / "left").read_text() == ""


def test_new_in_a_read_only_directory(tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    script = f"""
mount --bind {parent} {parent} && mount -o remount,bind,ro {parent}
{run_scaffold(f"new {parent}/shop -f flask --defaults", tmp_path)}
ls -A {parent} >left
"""
    code, err = in_namespace(script, tmp_path)
    assert_one_line(code, err, str(parent))
    assert (tmp_path / "left").read_text() == ""


@pytest.mark.parametrize("command", ["update", "adopt"])
def test_update_and_adopt_on_a_read_only_project(
    command: str, tmp_path: Path, changed_templates: Path
) -> None:
    project = generate(tmp_path / "shop", "flask")
    if command == "adopt":
        subprocess.run(
            ["git", "branch", "-D", "scaffold/template"],
            cwd=project,
            check=True,
            capture_output=True,
        )
    before = fingerprint(project)
    script = f"""
mount --bind {project} {project} && mount -o remount,bind,ro {project}
cd {project}
{run_scaffold(command, tmp_path)}
"""
    code, err = in_namespace(script, tmp_path, {"SCAFFOLD_TEMPLATES": str(changed_templates)})
    assert_one_line(code, err, "Read-only file system", "make it writable")
    assert fingerprint(project) == before


def test_update_on_a_full_disk(tmp_path: Path, changed_templates: Path) -> None:
    """The project itself on a full file system: git cannot store the new render."""
    made = generate(tmp_path / "made" / "shop", "flask")
    disk = tmp_path / "disk"
    disk.mkdir()
    project = disk / "shop"
    script = f"""
mount -t tmpfs -o size=2m tmpfs {disk}
cp -a {made} {project}
state() {{ git -C {project} for-each-ref; git -C {project} status --porcelain; }}
state >{tmp_path}/before
(dd if=/dev/zero of={disk}/filler bs=4k 2>/dev/null || true)
cd {project}
{run_scaffold("update", tmp_path)}
rm {disk}/filler
state >{tmp_path}/after
"""
    code, err = in_namespace(script, tmp_path, {"SCAFFOLD_TEMPLATES": str(changed_templates)})
    assert_one_line(code, err, "free some space")
    assert (tmp_path / "after").read_text() == (tmp_path / "before").read_text()
