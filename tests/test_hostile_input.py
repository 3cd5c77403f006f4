"""Issue 12: hostile or malformed input never writes, never changes, never shows a traceback.

Each case builds a state in tmp_path, runs one command, and asserts: a non-zero exit, one
line naming the problem, no traceback, and a byte-identical tree (git state included).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import generate, run_cli


def fingerprint(root: Path) -> str:
    """Every path, mode and byte under root, .git included: any change shows."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_symlink():
            digest.update(str(path.readlink()).encode())
        elif path.is_file():
            digest.update(oct(path.stat().st_mode).encode() + path.read_bytes())
    return digest.hexdigest()


def git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def project(tmp: Path) -> Path:
    return generate(tmp / "proj", "flask")


# --- states for update/check ---------------------------------------------------------------
def not_a_repo(tmp: Path) -> Path:
    p = project(tmp)
    subprocess.run(["rm", "-rf", str(p / ".git")], check=True)
    return p


def dirty(tmp: Path) -> Path:
    p = project(tmp)
    (p / "README.md").write_text("edited\n")
    return p


def untracked(tmp: Path) -> Path:
    p = project(tmp)
    (p / "notes.txt").write_text("mine\n")
    return p


def detached(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "checkout", "--quiet", "--detach")
    return p


def merge_in_progress(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "checkout", "-q", "-b", "other")
    (p / "README.md").write_text("other\n")
    git(p, "commit", "-qam", "other")
    git(p, "checkout", "-q", "main")
    (p / "README.md").write_text("main\n")
    git(p, "commit", "-qam", "main")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e.com", "merge", "other"],
        cwd=p,
        capture_output=True,
    )
    return p


def no_record(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "rm", "-q", ".scaffold.yml")
    git(p, "commit", "-qm", "drop record")
    return p


def corrupt_record(tmp: Path) -> Path:
    p = project(tmp)
    (p / ".scaffold.yml").write_text("answers: [unclosed\n")
    git(p, "commit", "-qam", "corrupt")
    return p


def record_without_answers(tmp: Path) -> Path:
    p = project(tmp)
    (p / ".scaffold.yml").write_text("scaffold_version: 0.1.0\nframework: flask\n")
    git(p, "commit", "-qam", "no answers")
    return p


def newer_record(tmp: Path) -> Path:
    p = project(tmp)
    text = (p / ".scaffold.yml").read_text()
    (p / ".scaffold.yml").write_text(text.replace("scaffold_version: ", "scaffold_version: 99."))
    git(p, "commit", "-qam", "from the future")
    return p


def no_template_branch(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "branch", "-D", "scaffold/template")
    return p


def plain_dir(tmp: Path) -> Path:
    (tmp / "plain").mkdir()
    (tmp / "plain" / "app.py").write_text("print('hi')\n")
    return tmp / "plain"


def nothing(tmp: Path) -> Path:
    return tmp


def occupied(tmp: Path) -> Path:
    (tmp / "dest").mkdir()
    (tmp / "dest" / "keep.txt").write_text("mine")
    return tmp


def a_file(tmp: Path) -> Path:
    (tmp / "dest").write_text("a file")
    return tmp


def symlink_outside(tmp: Path) -> Path:
    (tmp / "outside").mkdir()
    (tmp / "inner").mkdir()
    (tmp / "inner" / "dest").symlink_to(tmp / "outside")
    return tmp / "inner"


NEW = ["new", "{tmp}/dest", "--framework", "flask", "--defaults"]
CASES: list[tuple[str, Callable[[Path], Path], list[str], str]] = [
    # names
    ("keyword package", nothing, [*NEW, "-d", "package=class"], "keyword"),
    ("soft keyword package", nothing, [*NEW, "-d", "package=match"], "keyword"),
    ("stdlib package", nothing, [*NEW, "-d", "package=json"], "standard-library"),
    ("framework package", nothing, [*NEW, "-d", "package=django"], "framework"),
    ("test package", nothing, [*NEW, "-d", "package=test"], "shadows"),
    ("uppercase package", nothing, [*NEW, "-d", "package=Shop"], "lowercase"),
    ("dotted package", nothing, [*NEW, "-d", "package=a.b"], "identifier"),
    ("traversal package", nothing, [*NEW, "-d", "package=../evil"], "identifier"),
    ("slash in name", nothing, [*NEW, "-d", "project_name=a/b"], "path separator"),
    ("dotdot name", nothing, [*NEW, "-d", "project_name=../../etc"], "path separator"),
    ("control char name", nothing, [*NEW, "-d", "project_name=a\x1bb"], "control"),
    ("empty name", nothing, [*NEW, "-d", "project_name="], "empty"),
    ("very long name", nothing, [*NEW, "-d", "project_name=" + "x" * 500], "longer"),
    ("derived package invalid", nothing, [*NEW, "-d", "project_name=Flask"], "framework"),
    # values
    ("malformed data", nothing, [*NEW, "-d", "foo"], "KEY=VALUE"),
    ("unknown key", nothing, [*NEW, "-d", "nosuchkey=1"], "unknown answer"),
    ("bool garbage", nothing, [*NEW, "-d", "docker=sometimes"], "yes/no"),
    ("bad email", nothing, [*NEW, "-d", "author_email=nobody"], "email"),
    ("bad domain", nothing, [*NEW, "-d", "domain=exa_mple..com"], "domain"),
    ("old python", nothing, [*NEW, "-d", "python_version=3.10"], "one of"),
    ("root deploy user", nothing, [*NEW, "-d", "deploy_user=root"], "root"),
    (
        "unknown framework",
        nothing,
        ["new", "{tmp}/dest", "-f", "rails", "--defaults"],
        "unknown framework",
    ),
    ("framework option for another", nothing, [*NEW, "-d", "interface=asgi"], "unknown answer"),
    # destinations
    ("non-empty dest", occupied, NEW, "not empty"),
    ("dest is a file", a_file, NEW, "is a file"),
    (
        "missing parent",
        nothing,
        ["new", "{tmp}/no/such/dest", "-f", "flask", "--defaults"],
        "does not exist",
    ),
    (
        "symlink dest",
        symlink_outside,
        ["new", "{tmp}/dest", "-f", "flask", "--defaults"],
        "symlink",
    ),
    # recommend and list
    ("recommend bad kind", nothing, ["recommend", "--kind", "blog"], "blog"),
    ("list bad flag", nothing, ["list", "--yaml"], "--yaml"),
    # update
    ("update outside git", not_a_repo, ["update", "{tmp}"], "git"),
    ("update dirty tree", dirty, ["update", "{tmp}"], "uncommitted"),
    ("update untracked file", untracked, ["update", "{tmp}"], "notes.txt"),
    ("update detached head", detached, ["update", "{tmp}"], "detached"),
    ("update mid-merge", merge_in_progress, ["update", "{tmp}"], "merge"),
    ("update no record", no_record, ["update", "{tmp}"], ".scaffold.yml"),
    ("update corrupt record", corrupt_record, ["update", "{tmp}"], ".scaffold.yml"),
    ("update record w/o answers", record_without_answers, ["update", "{tmp}"], "answers"),
    ("update newer record", newer_record, ["update", "{tmp}"], "newer"),
    ("update no template branch", no_template_branch, ["update", "{tmp}"], "scaffold adopt"),
    ("update bad data", project, ["update", "{tmp}", "-d", "package=json"], "standard-library"),
    # check
    ("check plain dir", plain_dir, ["check", "{tmp}"], ".scaffold.yml"),
    ("check missing dir", nothing, ["check", "{tmp}/nope"], "nope"),
]


@pytest.mark.parametrize(
    ("state", "argv", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_input(state, argv, message, tmp_path: Path) -> None:
    target = state(tmp_path)
    before = fingerprint(tmp_path)
    args = [a.replace("{tmp}", str(target)) for a in argv]
    result = subprocess.run(
        [sys.executable, "-m", "scaffold", *args], capture_output=True, text=True, timeout=60
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, output
    assert result.returncode in (1, 2), output
    assert "Traceback" not in output
    assert message in output, output
    assert len(result.stderr.strip().splitlines()) <= 3, output  # click usage adds 2 lines
    assert fingerprint(tmp_path) == before, "something was written or changed"


def test_check_without_nginx_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    from scaffold.check import preflight

    p = project(tmp_path)
    before = fingerprint(tmp_path)
    monkeypatch.setattr(preflight, "find_nginx", lambda: None)  # nginx is installed on this machine
    result = run_cli("check", str(p))
    assert result.exit_code == 2, result.output
    assert "nginx" in result.output and "--no-nginx" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert fingerprint(tmp_path) == before
