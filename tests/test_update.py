"""`scaffold update` and `scaffold adopt`: real git merges of template changes into projects.

Template changes are simulated on a copy of templates/ that SCAFFOLD_TEMPLATES points at.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

import scaffold
from scaffold import catalog, repository
from scaffold.errors import BadInput
from scaffold.migrations import Migration, drop, migrate_answers, pending, rename, version_key
from scaffold.new import create_project
from scaffold.project import RECORD_FILE
from scaffold.questions import compatible
from scaffold.repository import TEMPLATE_BRANCH, init_repository
from scaffold.update import changed_answers, commit_message, update_project
from scaffold.update import flow as update_module
from tests.helpers import (
    available_frameworks,
    commit,
    edit,
    generate,
    git,
    run_cli,
    tracked_files,
    tree_snapshot,
)

FRAMEWORKS = available_frameworks()


def repo_state(project: Path) -> dict[str, object]:
    """Everything an update could change: refs, HEAD, status, files, worktrees."""
    return {
        "refs": git(project, "for-each-ref", "--format=%(refname) %(objectname)", check=False),
        "head": git(project, "symbolic-ref", "--quiet", "HEAD", check=False),
        "head_commit": git(project, "rev-parse", "HEAD", check=False),
        "status": git(project, "status", "--porcelain", "--ignored", check=False),
        "worktrees": git(project, "worktree", "list", "--porcelain", check=False),
        "files": tree_snapshot(project),
    }


def tracked(project: Path) -> dict[str, bytes]:
    return {name: (project / name).read_bytes() for name in tracked_files(project)}


def fresh_render(tmp_path: Path, framework: str, answers: dict[str, object]) -> dict[str, bytes]:
    dest = tmp_path / "fresh"
    shutil.rmtree(dest, ignore_errors=True)
    create_project(dest, framework, answers, use_git=False)
    files = tree_snapshot(dest)
    files.pop(".env")
    return files


def answers_of(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / RECORD_FILE).read_text())["answers"]


def base_file(templates: Path, name: str) -> Path:
    return templates / "base" / "template" / name


def change_editorconfig(templates: Path) -> None:
    edit(base_file(templates, ".editorconfig"), lambda text: text + "\n[*.md]\nindent_size = 2\n")


def update(project: Path, *args: str):
    return run_cli("update", str(project), *args)


# 1
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_untouched_project_merges_cleanly_and_equals_a_fresh_render(
    framework: str, tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", framework)
    old_tip = git(project, "rev-parse", TEMPLATE_BRANCH)
    change_editorconfig(templates)
    edit(
        base_file(templates, "README.md.jinja"),
        lambda t: t + "\nMaintained by {{ author_name }}.\n",
    )

    result = update(project)

    assert result.exit_code == 0, result.output
    assert "updated  .editorconfig" in result.output and "updated  README.md" in result.output
    assert tracked(project) == fresh_render(tmp_path, framework, answers_of(project))
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", f"{TEMPLATE_BRANCH}^") == old_tip
    assert len(git(project, "rev-list", "--parents", "-n1", "HEAD").split()) == 3  # a merge
    assert git(project, "worktree", "list").count("\n") == 0  # the temporary worktree is gone


# 2
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_user_edits_that_do_not_overlap_are_kept(
    framework: str, tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", framework)
    edit(project / "README.md", lambda t: t.replace("\n", "\nOur team's notes.\n", 1))
    (project / "NOTES.md").write_text("mine\n")
    commit(project)
    edit(base_file(templates, "README.md.jinja"), lambda t: t + "\nTemplate footer.\n")
    change_editorconfig(templates)

    result = update(project)

    assert result.exit_code == 0, result.output
    readme = (project / "README.md").read_text()
    assert "Our team's notes." in readme and readme.endswith("Template footer.\n")
    assert (project / "NOTES.md").read_text() == "mine\n"
    assert "[*.md]" in (project / ".editorconfig").read_text()
    assert git(project, "status", "--porcelain") == ""


# 3
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_overlapping_edits_conflict_and_merge_abort_restores_the_user_state(
    framework: str, tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", framework)
    edit(project / ".editorconfig", lambda t: t.replace("indent_size = 4", "indent_size = 2"))
    commit(project)
    before = repo_state(project)
    edit(
        base_file(templates, ".editorconfig"),
        lambda t: t.replace("indent_size = 4", "indent_size = 8"),
    )
    change_editorconfig(templates)

    result = update(project)

    assert result.exit_code == 3, result.output
    assert "CONFLICT (content): Merge conflict in .editorconfig" in result.output
    assert "markers in .editorconfig" in result.output and "git merge --abort" in result.output
    text = (project / ".editorconfig").read_text()
    assert "<<<<<<<" in text and "indent_size = 8" in text and ">>>>>>>" in text
    git(project, "merge", "--abort")
    after = repo_state(project)
    template_ref = f"refs/heads/{TEMPLATE_BRANCH}"
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }
    ours = (template_ref, "refs/scaffold/")
    strip = lambda refs: [r for r in str(refs).splitlines() if not r.startswith(ours)]  # noqa: E731
    assert strip(after["refs"]) == strip(before["refs"])
    # The next update puts the template branch back over the backed-out merge and offers
    # the same merge again.
    again = update(project)
    assert again.exit_code == 3 and "was backed out" in again.output, again.output


# 4
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_template_adds_deletes_and_renames_files(
    framework: str, tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", framework)
    edit(project / ".github/workflows/ci.yml", lambda t: t + "# our own CI note\n")
    commit(project)
    base_file(templates, "CONTRIBUTING.md.jinja").write_text(
        "# Contributing to {{ project_name }}\n"
    )
    base_file(templates, ".pre-commit-config.yaml").unlink()
    workflows = base_file(templates, ".github/workflows")
    (workflows / "ci.yml.jinja").rename(workflows / "tests.yml.jinja")

    result = update(project, "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["status"] == "merged"
    assert report["added"] == ["CONTRIBUTING.md"]
    assert report["removed"] == [".pre-commit-config.yaml"]
    assert report["renamed"] == [[".github/workflows/ci.yml", ".github/workflows/tests.yml"]]
    assert (project / "CONTRIBUTING.md").read_text() == "# Contributing to shop\n"
    assert not (project / ".pre-commit-config.yaml").exists()
    assert not (project / ".github/workflows/ci.yml").exists()
    # git followed the rename: the user's line moved with the file.
    assert (project / ".github/workflows/tests.yml").read_text().endswith("# our own CI note\n")


def _other_choices(framework: str) -> list[str]:
    """A non-default value for every choice option, together compatible (auth=accounts
    cannot go with database=none)."""
    options = [q for q in catalog.get(framework).options if q.type == "choice"]
    for values in itertools.product(*([c for c in q.choices if c != q.default] for q in options)):
        chosen = dict(zip((q.name for q in options), values, strict=True))
        if compatible(options, chosen):
            return [f"{name}={value}" for name, value in chosen.items()]
    raise AssertionError(f"{framework} has no compatible set of non-default choices")


# 5
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_answer_change_re_renders(framework: str, tmp_path: Path, templates: Path) -> None:
    project = generate(tmp_path / "shop", framework)
    pairs = ["description=A shop for tea.", "python_version=3.12", *_other_choices(framework)]

    result = update(project, *[arg for pair in pairs for arg in ("--data", pair)])

    assert result.exit_code == 0, result.output
    assert "answer description: 'shop, a web application.' -> 'A shop for tea.'" in (result.output)
    answers = answers_of(project)
    assert answers["description"] == "A shop for tea." and answers["python_version"] == "3.12"
    assert "A shop for tea." in (project / "README.md").read_text()
    assert tracked(project) == fresh_render(tmp_path, framework, answers)
    message = git(project, "log", "-1", "--format=%B", TEMPLATE_BRANCH)
    assert "description: 'shop, a web application.' -> 'A shop for tea.'" in message
    assert git(project, "log", "-1", "--format=%an <%ae>", TEMPLATE_BRANCH) == (
        "Your Name <you@example.com>"
    )  # the answers' identity, not the machine's


# 6
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("fetch_branch", [True, False], ids=["branch-fetched", "remote-only"])
def test_a_fresh_clone_can_update(
    framework: str, fetch_branch: bool, tmp_path: Path, templates: Path
) -> None:
    origin = generate(tmp_path / "origin", framework)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(origin), str(clone))
    if fetch_branch:
        git(clone, "branch", TEMPLATE_BRANCH, f"origin/{TEMPLATE_BRANCH}")
    change_editorconfig(templates)

    result = update(clone)

    assert result.exit_code == 0, result.output
    assert tracked(clone) == fresh_render(tmp_path, framework, answers_of(clone))
    # Without a local branch, the remote's copy is the base and the local branch is created.
    assert git(clone, "rev-parse", f"{TEMPLATE_BRANCH}^") == git(
        origin, "rev-parse", TEMPLATE_BRANCH
    )


# 7
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_no_op_update_says_so_and_changes_nothing(
    framework: str, tmp_path: Path, templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = generate(tmp_path / "shop", framework)
    before = repo_state(project)
    result = update(project)
    assert result.exit_code == 0, result.output
    assert "already up to date" in result.output
    assert repo_state(project) == before
    # A release that changes no rendered file is no update either (only the version differs).
    monkeypatch.setattr(scaffold, "__version__", "0.99.0")
    assert "already up to date" in update(project).output
    assert repo_state(project) == before


def test_a_release_names_both_versions_and_records_the_new_one(
    tmp_path: Path, templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = generate(tmp_path / "shop", FRAMEWORKS[0])
    old = scaffold.__version__
    monkeypatch.setattr(scaffold, "__version__", "0.99.0")
    change_editorconfig(templates)
    result = update(project)
    assert result.exit_code == 0, result.output
    assert f"scaffold {old} -> 0.99.0" in result.output
    subject = git(project, "log", "-1", "--format=%s", TEMPLATE_BRANCH)
    assert subject == f"Update scaffold template from scaffold {old} to 0.99.0"
    assert yaml.safe_load((project / RECORD_FILE).read_text())["scaffold_version"] == "0.99.0"


def test_dry_run_prints_the_diff_and_changes_nothing(tmp_path: Path, templates: Path) -> None:
    project = generate(tmp_path / "shop", FRAMEWORKS[0])
    before = repo_state(project)
    change_editorconfig(templates)
    result = update(project, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "+[*.md]" in result.output and "Dry run" in result.output
    assert repo_state(project) == before


def test_a_failing_render_changes_nothing(tmp_path: Path, templates: Path) -> None:
    project = generate(tmp_path / "shop", FRAMEWORKS[0])
    before = repo_state(project)
    edit(base_file(templates, "README.md.jinja"), lambda t: t + "{{ no_such_answer }}\n")
    result = update(project)
    assert result.exit_code == 1, result.output
    assert "no_such_answer" in result.output
    assert repo_state(project) == before


@pytest.mark.parametrize("step", ["add", "write-tree", "commit-tree", "update-ref", "merge"])
def test_an_interrupt_midway_puts_everything_back(
    step: str, tmp_path: Path, templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C right after each git step: branch, tree and template branch as before."""
    project = generate(tmp_path / "shop", FRAMEWORKS[0])
    edit(project / ".editorconfig", lambda t: t.replace("indent_size = 4", "indent_size = 2"))
    commit(project)  # overlapping edits, so the interrupted merge is left half-done
    before = repo_state(project)
    edit(
        base_file(templates, ".editorconfig"),
        lambda t: t.replace("indent_size = 4", "indent_size = 8"),
    )
    real_git = update_module.git
    fired = []
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the render goes

    def interrupted_git(cwd: Path, *args: str, **kwargs):
        result = real_git(cwd, *args, **kwargs)
        if step in args and not fired:
            fired.append(args)
            raise KeyboardInterrupt  # the step happened, then Ctrl-C arrived
        return result

    monkeypatch.setattr(update_module, "git", interrupted_git)
    monkeypatch.setattr(repository, "git", interrupted_git)  # the render's own tree
    with pytest.raises(KeyboardInterrupt):
        update_project(project)
    assert fired
    if step == "merge":
        assert fired[0][-1] == TEMPLATE_BRANCH  # the interrupt hit the merge itself
    assert repo_state(project) == before
    assert list(scratch.iterdir()) == []  # the scratch render is gone


def _missing_template(project: Path) -> None:
    git(project, "branch", "--quiet", "-D", TEMPLATE_BRANCH)


# 8: the refusals are rows of tests/test_refusals.py
def test_the_untracked_env_file_does_not_count_as_dirty(tmp_path: Path, templates: Path) -> None:
    project = generate(tmp_path / "shop", FRAMEWORKS[0])
    assert (project / ".env").is_file()
    change_editorconfig(templates)
    assert update(project).exit_code == 0


def test_update_from_a_subdirectory_updates_the_project(tmp_path: Path, templates: Path) -> None:
    project = generate(tmp_path / "shop", FRAMEWORKS[0])
    change_editorconfig(templates)
    result = update(project / "tests")
    assert result.exit_code == 0, result.output
    assert "[*.md]" in (project / ".editorconfig").read_text()


# adopt (its refusals are rows of tests/test_refusals.py)
def test_adopt_recreates_the_branch_so_the_next_update_brings_only_new_changes(
    tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", FRAMEWORKS[0])
    edit(project / "README.md", lambda t: t + "Our notes.\n")
    commit(project)
    _missing_template(project)
    files = tree_snapshot(project)

    result = run_cli("adopt", str(project))
    assert result.exit_code == 0, result.output
    assert tree_snapshot(project) == files  # -s ours: no file changed
    assert git(project, "status", "--porcelain") == ""
    assert run_cli("adopt", str(project)).exit_code == 2  # the branch exists now
    assert "already up to date" in update(project).output

    change_editorconfig(templates)
    report = json.loads(update(project, "--json").output)
    assert report["status"] == "merged" and report["updated"] == [".editorconfig"]
    assert (project / "README.md").read_text().endswith("Our notes.\n")


def test_adopt_a_project_committed_without_scaffold_git(tmp_path: Path, templates: Path) -> None:
    project = tmp_path / "shop"
    create_project(project, FRAMEWORKS[0], {}, use_git=False)
    git(project, "init", "--quiet", "--initial-branch=trunk")
    commit(project, "initial")
    assert run_cli("adopt", str(project)).exit_code == 0
    change_editorconfig(templates)
    assert update(project).exit_code == 0
    assert git(project, "branch", "--show-current") == "trunk"
    assert tracked(project) == fresh_render(tmp_path, FRAMEWORKS[0], answers_of(project))


# migrations
def test_version_key_orders_releases() -> None:
    assert version_key("0.10.0") > version_key("0.9.1") > version_key("0.9")
    assert version_key("1.0.0rc1") == version_key("1.0")
    with pytest.raises(BadInput):
        version_key("latest")


def test_migrations_rename_and_drop_only_for_older_records() -> None:
    steps = [
        Migration("0.3.0", "drop x", drop("x")),
        Migration("0.2.0", "rename a", rename("a", "b")),
    ]
    assert [m.version for m in pending("0.1.0", "0.3.0", steps)] == ["0.2.0", "0.3.0"]
    assert migrate_answers({"a": 1, "x": 2, "c": 3}, "0.1.0", "0.3.0", steps) == {"c": 3, "b": 1}
    assert migrate_answers({"a": 1}, "0.2.0", "0.3.0", steps) == {"a": 1}  # already migrated
    assert migrate_answers({"a": 1, "b": 2}, "0.1.0", "0.2.0", steps) == {"b": 2}


def test_update_migrates_a_renamed_answer_before_rendering(tmp_path: Path, templates: Path) -> None:
    """A project recorded by an older scaffold that called python_version `python`."""
    project = tmp_path / "shop"
    framework = FRAMEWORKS[0]
    create_project(project, framework, {"python_version": "3.12"}, use_git=False)
    edit(
        project / RECORD_FILE,
        lambda t: t.replace("python_version:", "python:").replace(
            f"scaffold_version: {scaffold.__version__}", "scaffold_version: 0.0.1"
        ),
    )
    (project / ".env").unlink()
    files = [str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()]
    answers = answers_of(project) | {"python_version": "3.12"}
    init_repository(project, files, answers, "old scaffold")
    with pytest.raises(BadInput, match="unknown answer 'python'"):
        update_project(project)  # without the migration the old record is unreadable

    renamed = Migration(
        scaffold.__version__, "python is python_version", rename("python", "python_version")
    )
    result = update_project(project, migrations=[renamed])

    assert result.status == "merged" and result.from_version == "0.0.1"
    answers = answers_of(project)
    assert answers["python_version"] == "3.12" and "python" not in answers
    assert tracked(project) == fresh_render(tmp_path, framework, answers)


def test_report_helpers() -> None:
    assert changed_answers({"a": 1, "gone": 2}, {"a": 3, "new": 4}) == [
        ("a", 1, 3),
        ("new", None, 4),
        ("gone", 2, None),
    ]
    assert commit_message("0.1.0", "0.1.0", []) == "Re-render scaffold template with scaffold 0.1.0"
    assert "- a: 1 -> 3" in commit_message("0.1.0", "0.2.0", [("a", 1, 3)])
    assert commit_message("0.1.0", "0.1.0", [("a", 1, 3)]).startswith(
        "Re-render scaffold template with scaffold 0.1.0 for new answers: a\n"
    )


def env_values(project: Path) -> dict[str, str]:
    lines = (project / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_env_follows_the_database_answer_and_never_touches_a_secret(tmp_path: Path) -> None:
    """Issue 19: values the answers make move with them, new variables are added (a new
    secret generated), a value the user set stays, and a variable no longer read is named."""
    project = generate(tmp_path / "shopenv", "flask", "database=none")
    before = env_values(project)
    assert "DATABASE_URL" not in before
    result = run_cli("update", str(project), "--data", "database=postgresql")
    assert result.exit_code == 0, result.output
    assert "  .env: added DATABASE_URL=postgres:///shopenv\n" in result.output
    assert "  .env: added FLASK_API_TOKEN\n" in result.output  # a secret is never printed
    after = env_values(project)
    token = after.pop("FLASK_API_TOKEN")
    assert len(token) >= 43 and token not in result.output
    assert after == {**before, "DATABASE_URL": "postgres:///shopenv"}
    assert oct((project / ".env").stat().st_mode & 0o777) == "0o600"

    result = run_cli("update", str(project), "--data", "database=sqlite", "--json")
    edits = json.loads(result.output)["env_edits"]
    assert edits == [
        {
            "name": "DATABASE_URL",
            "action": "set",
            "value": "sqlite:///db.sqlite3",
            "was": "postgres:///shopenv",
        }
    ]
    assert env_values(project)["FLASK_API_TOKEN"] == token  # the secret stays

    edit(project / ".env", lambda t: t.replace("sqlite:///db.sqlite3", "sqlite:///mine.db"))
    result = run_cli("update", str(project), "--data", "database=postgresql")
    assert "kept your DATABASE_URL=sqlite:///mine.db" in result.output
    assert env_values(project)["DATABASE_URL"] == "sqlite:///mine.db"

    result = run_cli("update", str(project), "--data", "database=none")
    assert "  .env: DATABASE_URL is no longer read" in result.output
    assert "  .env: FLASK_API_TOKEN is no longer read" in result.output
    assert env_values(project)["FLASK_API_TOKEN"] == token


def test_env_follows_a_package_rename_but_not_a_dry_run_or_a_stopped_merge(
    tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", "flask")
    env_before = (project / ".env").read_bytes()
    for preview in ("--dry-run", "--check"):
        result = run_cli("update", str(project), "--data", "package=store", preview)
        assert "  .env: set GUNICORN_BIND=unix:/run/store/gunicorn.sock" in result.output
        assert (project / ".env").read_bytes() == env_before, preview
    edit(project / ".editorconfig", lambda t: t.replace("indent_size = 4", "indent_size = 2"))
    commit(project)
    edit(base_file(templates, ".editorconfig"), lambda t: t.replace("size = 4", "size = 8"))
    result = run_cli("update", str(project), "--data", "package=store")
    assert result.exit_code == 3, result.output
    assert "Your .env was not changed" in result.output
    assert (project / ".env").read_bytes() == env_before
    git(project, "merge", "--abort")
    edit(base_file(templates, ".editorconfig"), lambda t: t.replace("size = 8", "size = 4"))
    result = run_cli("update", str(project), "--data", "package=store")
    assert result.exit_code == 0, result.output
    assert env_values(project)["GUNICORN_BIND"] == "unix:/run/store/gunicorn.sock"


def test_turning_accounts_on_adds_a_secret_and_the_mail_settings(tmp_path: Path) -> None:
    project = generate(tmp_path / "shopauth", "fastapi")
    result = run_cli("update", str(project), "--data", "auth=accounts")
    assert result.exit_code == 0, result.output
    assert "  .env: added APP_SECRET_KEY\n" in result.output
    assert "  .env: added MAIL_FROM=noreply@example.com\n" in result.output
    assert "  .env: APP_API_TOKEN is no longer read" in result.output
    values = env_values(project)
    assert len(values["APP_SECRET_KEY"]) >= 32 and values["SMTP_PORT"] == "587"


def test_projects_from_before_the_database_answer_keep_none() -> None:
    """0.1.0 asked `database` of Django only: the others had no data layer, and an update must
    not add one unasked; Django's recorded answer stays."""
    assert migrate_answers({"package": "shop"}, "0.1.0", "0.2.0")["database"] == "none"
    django = {"package": "shop", "database": "postgresql"}
    assert migrate_answers(django, "0.1.0", "0.2.0")["database"] == "postgresql"
    assert "database" not in migrate_answers({"package": "shop"}, "0.2.0", "0.2.0")
