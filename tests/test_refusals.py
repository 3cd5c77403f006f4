"""Every refusal of bad input or an unfit state, in one table: one line, an exit code, no
traceback, and not one byte changed (.git included).

Each row builds a state under tmp_path, runs one command line in-process, and names the exit
code and a fragment of the message. The templates are a changed copy, so `update` always has
something to merge and the refusal must win. Cases that need a real process (the entry point,
no terminal) are in test_hostile_input.py; signals in test_new.py and test_update_signals.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import scaffold
from scaffold import new as new_module
from scaffold.check import preflight
from scaffold.project import RECORD_FILE
from scaffold.repository import TEMPLATE_BRANCH
from tests.helpers import commit, copy_templates, edit, fingerprint, generate, git, run_cli


# --- states: each builds one under tmp and returns the path the command line names as {at} -
def nothing(tmp: Path) -> Path:
    return tmp


def project(tmp: Path) -> Path:
    return generate(tmp / "proj", "flask")


def no_database(tmp: Path) -> Path:
    return generate(tmp / "proj", "flask", "database=none")


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


def plain_dir(tmp: Path) -> Path:
    (tmp / "plain").mkdir()
    (tmp / "plain" / "app.py").write_text("print('hi')\n")
    return tmp / "plain"


def not_a_repo(tmp: Path) -> Path:
    p = project(tmp)
    shutil.rmtree(p / ".git")
    return p


def no_commits(tmp: Path) -> Path:
    p = not_a_repo(tmp)
    git(p, "init", "--quiet")
    return p


def modified(tmp: Path) -> Path:
    p = project(tmp)
    edit(p / "README.md", lambda text: text + "draft\n")
    return p


def untracked(tmp: Path) -> Path:
    p = project(tmp)
    (p / "notes.txt").write_text("mine\n")
    return p


def detached(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "switch", "--quiet", "--detach")
    return p


def on_template_branch(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "switch", "--quiet", TEMPLATE_BRANCH)
    return p


def conflicting_branch(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "switch", "--quiet", "-c", "other")
    edit(p / "README.md", lambda text: "other\n" + text)
    commit(p)
    git(p, "switch", "--quiet", "main")
    edit(p / "README.md", lambda text: "main\n" + text)
    commit(p)
    return p


def merge_in_progress(tmp: Path) -> Path:
    p = conflicting_branch(tmp)
    git(p, "merge", "other", check=False)
    return p


def rebase_in_progress(tmp: Path) -> Path:
    p = conflicting_branch(tmp)
    git(p, "rebase", "other", check=False)
    return p


def no_record(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "rm", "--quiet", RECORD_FILE)
    commit(p, "drop record")
    return p


def corrupt_record(tmp: Path) -> Path:
    p = project(tmp)
    (p / RECORD_FILE).write_text("answers: [unclosed\n")
    commit(p, "corrupt")
    return p


def record_without_answers(tmp: Path) -> Path:
    p = project(tmp)
    (p / RECORD_FILE).write_text("scaffold_version: 0.1.0\nframework: flask\n")
    commit(p, "no answers")
    return p


def newer_record(tmp: Path) -> Path:
    p = project(tmp)
    old = f"scaffold_version: {scaffold.__version__}"
    edit(p / RECORD_FILE, lambda text: text.replace(old, "scaffold_version: 99.0.0"))
    commit(p, "from the future")
    return p


def no_template_branch(tmp: Path) -> Path:
    p = project(tmp)
    git(p, "branch", "--quiet", "-D", TEMPLATE_BRANCH)
    return p


def unrelated_template_branch(tmp: Path) -> Path:
    p = no_template_branch(tmp)
    orphan = git(p, "commit-tree", git(p, "write-tree"), "-m", "unrelated")
    git(p, "branch", TEMPLATE_BRANCH, orphan)
    return p


def a_clone(tmp: Path) -> Path:
    """A clone of a generated project: scaffold/template exists only as the remote's branch."""
    origin = generate(tmp / "origin", "flask")
    git(tmp, "clone", "--quiet", str(origin), str(tmp / "clone"))
    return tmp / "clone"


# --- patches: what this machine cannot show for real ----------------------------------------
def unwritable(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI runs as root, who may write anywhere, so the permission answer is faked.
    monkeypatch.setattr(new_module.os, "access", lambda path, mode: False)


def without_nginx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "find_nginx", lambda: None)  # nginx is installed here


@dataclass(frozen=True)
class Refusal:
    name: str
    state: Callable[[Path], Path]
    argv: tuple[str, ...]  # "{at}" stands for the path the state returned
    exit_code: int
    message: str
    patch: Callable[[pytest.MonkeyPatch], None] | None = None


def new(*data: str, dest: str = "{at}/dest", framework: str = "flask") -> tuple[str, ...]:
    pairs = [arg for pair in data for arg in ("--data", pair)]
    return ("new", dest, "--framework", framework, "--defaults", *pairs)


def update(*data: str) -> tuple[str, ...]:
    return ("update", "{at}", *[arg for pair in data for arg in ("--data", pair)])


REFUSALS = [
    # new: the package and project names
    Refusal("new keyword package", nothing, new("package=class"), 2, "keyword"),
    Refusal("new soft keyword package", nothing, new("package=match"), 2, "keyword"),
    Refusal("new stdlib package", nothing, new("package=json"), 2, "standard-library"),
    Refusal("new framework package", nothing, new("package=flask"), 2, "framework"),
    Refusal(
        "new accounts without a database",
        nothing,
        new("auth=accounts", "database=none"),
        2,
        "auth=accounts cannot go with database=none",
    ),
    Refusal("new other framework package", nothing, new("package=django"), 2, "framework"),
    Refusal("new test package", nothing, new("package=test"), 2, "shadows"),
    Refusal("new uppercase package", nothing, new("package=Shop"), 2, "lowercase"),
    Refusal("new dotted package", nothing, new("package=a.b"), 2, "identifier"),
    Refusal("new traversal package", nothing, new("package=../evil"), 2, "identifier"),
    Refusal("new slash in name", nothing, new("project_name=a/b"), 2, "path separator"),
    Refusal("new dotdot name", nothing, new("project_name=../../etc"), 2, "path separator"),
    Refusal("new escape in name", nothing, new("project_name=a\x1bb"), 2, "control"),
    Refusal("new empty name", nothing, new("project_name="), 2, "empty"),
    # A page template would run it: Flask's home page printed config.SECRET_KEY.
    Refusal(
        "new template syntax in name",
        nothing,
        new("project_name={{ config.SECRET_KEY }}"),
        2,
        "template syntax",
    ),
    Refusal(
        "new template tag in description", nothing, new("description={% debug %}"), 2, "{ or }"
    ),
    Refusal("new very long name", nothing, new("project_name=" + "x" * 500), 2, "longer"),
    Refusal("new derived package invalid", nothing, new("project_name=Flask"), 2, "framework"),
    # new: other answers
    Refusal("new malformed data", nothing, new("foo"), 2, "KEY=VALUE"),
    Refusal("new unknown answer", nothing, new("nosuchkey=1"), 2, "unknown answer"),
    Refusal("new bool garbage", nothing, new("docker=sometimes"), 2, "yes/no"),
    Refusal("new bad email", nothing, new("author_email=nobody"), 2, "email"),
    Refusal("new bad domain", nothing, new("domain=exa_mple..com"), 2, "domain"),
    Refusal("new old python", nothing, new("python_version=3.10"), 2, "one of"),
    Refusal("new root deploy user", nothing, new("deploy_user=root"), 2, "root"),
    Refusal("new unknown framework", nothing, new(framework="rails"), 2, "unknown framework"),
    Refusal("new another framework's option", nothing, new("interface=asgi"), 2, "unknown answer"),
    # new: the destination
    Refusal("new non-empty dest", occupied, new(), 2, "not empty"),
    Refusal("new dest is a file", a_file, new(), 2, "is a file"),
    Refusal("new missing parent", nothing, new(dest="{at}/no/such/dest"), 2, "does not exist"),
    Refusal("new symlink dest", symlink_outside, new(), 2, "symlink"),
    Refusal("new unwritable parent", nothing, new(), 2, "not writable", unwritable),
    # recommend and list
    Refusal("recommend bad kind", nothing, ("recommend", "--kind", "blog"), 2, "blog"),
    Refusal("list bad flag", nothing, ("list", "--yaml"), 2, "--yaml"),
    # update: the repository's state
    Refusal(
        "update accounts without a database",
        no_database,
        update("auth=accounts"),
        2,
        "auth=accounts cannot go with database=none",
    ),
    Refusal("update outside git", not_a_repo, update(), 2, "is not a git repository"),
    Refusal("update no commits", no_commits, update(), 2, "has no commits yet"),
    Refusal("update modified file", modified, update(), 2, "uncommitted changes (README.md)"),
    Refusal("update untracked file", untracked, update(), 2, "uncommitted changes (notes.txt)"),
    Refusal("update detached head", detached, update(), 2, "is on a detached HEAD"),
    Refusal(
        "update on template branch", on_template_branch, update(), 2, f"is on {TEMPLATE_BRANCH}"
    ),
    Refusal("update mid-merge", merge_in_progress, update(), 2, "has a merge in progress"),
    Refusal("update mid-rebase", rebase_in_progress, update(), 2, "has a rebase in progress"),
    Refusal("update no template branch", no_template_branch, update(), 2, "scaffold adopt"),
    Refusal(
        "update unrelated template branch",
        unrelated_template_branch,
        update(),
        2,
        "shares no history",
    ),
    # update: the record
    Refusal("update no record", no_record, update(), 2, "is not a scaffold project"),
    Refusal("update corrupt record", corrupt_record, update(), 2, "is not valid YAML"),
    Refusal("update record w/o answers", record_without_answers, update(), 2, "answers"),
    Refusal("update newer record", newer_record, update(), 2, "newer than the installed"),
    # update: changed answers
    Refusal(
        "update invalid answer", project, update("package=Not-Valid"), 2, "package='Not-Valid'"
    ),
    Refusal("update stdlib package", project, update("package=json"), 2, "standard-library"),
    Refusal("update unknown answer", project, update("colour=red"), 2, "unknown answer 'colour'"),
    Refusal("update malformed data", project, update("novalue"), 2, "is not KEY=VALUE"),
    # adopt
    Refusal(
        "adopt in a clone",
        a_clone,
        ("adopt", "{at}"),
        2,
        f"git branch {TEMPLATE_BRANCH} origin/{TEMPLATE_BRANCH}",
    ),
    Refusal(
        "adopt with the branch present",
        project,
        ("adopt", "{at}"),
        2,
        f"already has a {TEMPLATE_BRANCH} branch",
    ),
    # check
    Refusal("check plain dir", plain_dir, ("check", "{at}"), 2, ".scaffold.yml"),
    Refusal("check missing dir", nothing, ("check", "{at}/nope"), 2, "nope"),
    Refusal("check without nginx", project, ("check", "{at}"), 2, "--no-nginx", without_nginx),
]


@pytest.fixture(scope="module")
def changed_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Templates with a change to merge, outside every test's tmp_path (which is compared)."""
    templates = copy_templates(tmp_path_factory.mktemp("refusals") / "templates")
    editorconfig = templates / "base" / "template" / ".editorconfig"
    edit(editorconfig, lambda text: text + "\n[*.md]\nindent_size = 2\n")
    return templates


def settle_index(tmp: Path) -> None:
    """Let git refresh each index now: an index written in the same clock tick as its files is
    rewritten by the next `git status`, which would count as a change scaffold made."""
    for dot_git in tmp.rglob(".git"):
        git(dot_git.parent, "status", "--porcelain", check=False)


@pytest.mark.parametrize("case", REFUSALS, ids=lambda case: case.name)
def test_refusal_is_one_line_and_changes_nothing(
    case: Refusal, tmp_path: Path, changed_templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCAFFOLD_TEMPLATES", str(changed_templates))
    at = case.state(tmp_path)
    settle_index(tmp_path)
    before = fingerprint(tmp_path)
    if case.patch:
        case.patch(monkeypatch)

    result = run_cli(*[arg.replace("{at}", str(at)) for arg in case.argv])

    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scaffold: error: "), result.output
    assert case.message in lines[0], result.output
    assert result.exit_code == case.exit_code, result.output
    assert fingerprint(tmp_path) == before, "something was written or changed"
