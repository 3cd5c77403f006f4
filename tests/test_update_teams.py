"""Issue 19: updates for teams. `update --check`, several projects per call, and each rough
edge a black-box test of real updates hit; every test here failed on the code before it.

Real git throughout; template changes are made on a copy of templates/ (SCAFFOLD_TEMPLATES).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from scaffold.errors import EXIT_UPDATE_AVAILABLE
from scaffold.repository import TEMPLATE_BRANCH
from scaffold.update import batch
from tests.helpers import commit, edit, generate, git, run_cli
from tests.test_update import base_file, change_editorconfig, repo_state

LATIN1_NAME = b"caf\xe9.txt"  # not UTF-8: git stores names as bytes


def update(project: Path, *args: str):
    return run_cli("update", str(project), *args)


def refused_without_change(project: Path, *args: str, says: str, code: int = 2) -> str:
    before = repo_state(project)
    result = update(project, *args)
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scaffold: error: "), result.output
    assert says in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert repo_state(project) == before
    return lines[0]


# --check


def test_check_says_an_update_is_there_and_changes_nothing(tmp_path: Path, templates: Path):
    project = generate(tmp_path / "shop", "flask")
    result = update(project, "--check")
    assert result.exit_code == 0 and "already up to date" in result.output, result.output
    change_editorconfig(templates)
    before = repo_state(project)
    result = update(project, "--check")
    assert result.exit_code == EXIT_UPDATE_AVAILABLE == 4, result.output
    assert "update available" in result.output and "  updated  .editorconfig" in result.output
    body = json.loads(update(project, "--check", "--json").output)
    assert body["update_available"] is True
    assert body["files"] == [".editorconfig"] and body["conflicts"] == []
    assert repo_state(project) == before
    assert update(project).exit_code == 0
    assert update(project, "--check").exit_code == 0


def test_check_and_dry_run_predict_conflicts_with_merge_tree(tmp_path: Path, templates: Path):
    project = generate(tmp_path / "shop", "flask")
    edit(project / ".editorconfig", lambda t: t.replace("indent_size = 4", "indent_size = 2"))
    commit(project)
    edit(base_file(templates, ".editorconfig"), lambda t: t.replace("size = 4", "size = 8"))
    before = repo_state(project)
    body = json.loads(update(project, "--check", "--json").output)
    assert body["conflicts"] == [".editorconfig"], body
    assert body["conflict_details"][0]["kind"] == "content"
    dry = update(project, "--dry-run")
    assert dry.exit_code == 3, dry.output  # as the real run will
    assert "Would conflict in 1 file(s):" in dry.output
    assert "CONFLICT (content): Merge conflict in .editorconfig" in dry.output
    assert repo_state(project) == before
    assert update(project).exit_code == 3


def test_check_with_dry_run_is_a_usage_error(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    refused_without_change(project, "--check", "--dry-run", says="do not go together")


# several projects


def test_several_projects_one_table_and_the_worst_exit_code(tmp_path: Path, templates: Path):
    clean = generate(tmp_path / "clean", "flask")
    clashing = generate(tmp_path / "clashing", "pyramid")
    edit(clashing / ".editorconfig", lambda t: t.replace("indent_size = 4", "indent_size = 2"))
    commit(clashing)
    broken = tmp_path / "not-a-project"
    broken.mkdir()
    edit(base_file(templates, ".editorconfig"), lambda t: t.replace("size = 4", "size = 8"))

    checked = run_cli("update", "--check", str(clean), str(clashing))
    assert checked.exit_code == 4, checked.output
    rows = checked.output.strip().splitlines()[-3:]
    assert rows[0].split() == ["project", "result", "files", "conflicts", "exit"]
    assert rows[1].split()[1:] == ["update-available", "1", "0", "4"]
    assert rows[2].split()[1:] == ["update-available", "1", "1", "4"]
    bodies = json.loads(run_cli("update", "--check", "--json", str(clean), str(clashing)).output)
    assert [body["conflicts"] for body in bodies] == [[], [".editorconfig"]]

    before = repo_state(clashing)
    result = run_cli("update", str(clean), str(broken), str(clashing))
    assert result.exit_code == 2, result.output  # bad input outranks conflicts
    assert "not a git repository" in result.output
    assert git(clean, "log", "-1", "--format=%s").startswith(f"Merge {TEMPLATE_BRANCH}")
    assert "<<<<<<<" in (clashing / ".editorconfig").read_text()  # each is its own update
    git(clashing, "merge", "--abort")
    assert repo_state(clashing)["files"] == before["files"]


# shallow clones


def test_a_shallow_clone_is_told_to_unshallow(tmp_path: Path, templates: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    edit(project / "README.md", lambda t: t + "\nOur notes.\n")
    commit(project)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--depth", "1", "--no-single-branch",
        f"file://{project}", str(clone))  # fmt: skip
    change_editorconfig(templates)
    refused_without_change(clone, says="shallow clone")
    refused_without_change(clone, "--check", says="git fetch --unshallow")
    git(clone, "fetch", "--quiet", "--unshallow")
    assert update(clone).exit_code == 0


# bytes paths and odd records


def test_layers_that_are_not_a_list_are_one_line(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    record = project / ".scaffold.yml"
    text = record.read_text()
    record.write_text(text.replace("layers:\n- base\n- flask\n- deploy\n", "layers: 7\n"))
    commit(project)
    refused_without_change(project, says="layers must be a list")


def test_an_untracked_name_that_is_not_utf8_is_the_uncommitted_changes_refusal(
    tmp_path: Path,
) -> None:
    project = generate(tmp_path / "shop", "flask")
    with open(os.path.join(os.fsencode(project), LATIN1_NAME), "wb") as handle:
        handle.write(b"x")
    result = update(project)
    assert result.exit_code == 2, result.output
    assert "uncommitted changes (caf\\xe9.txt)" in result.output


def test_a_tracked_name_that_is_not_utf8_moves_with_a_package_rename(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    with open(os.path.join(os.fsencode(project), b"shop", LATIN1_NAME), "wb") as handle:
        handle.write(b"ours\n")
    commit(project)
    result = update(project, "--data", "package=store")
    assert result.exit_code in (0, 3), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 3:  # git asks where the file goes after the directory moved
        assert "caf\\xe9.txt" in result.output
        git(project, "add", "--all")
        git(project, "commit", "--quiet", "--no-edit")
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=project, capture_output=True, check=True
    ).stdout.split(b"\0")
    assert any(name.endswith(LATIN1_NAME) for name in names)
    assert b"store/__init__.py" in names


# git's reasons, and conflict kinds


@pytest.mark.parametrize("flag", ["skip-worktree", "assume-unchanged"])
def test_a_change_git_hides_is_named_with_the_fix_and_survives(
    flag: str, tmp_path: Path, templates: Path
) -> None:
    """git's own refusal named no file; and the review found data loss: after git refused
    the merge, the rollback's reset --hard wiped the assume-unchanged change."""
    project = generate(tmp_path / "shop", "flask")
    git(project, "update-index", f"--{flag}", "pyproject.toml")
    edit(project / "pyproject.toml", lambda t: t + "# my local tweak\n")
    pyproject = next(templates.glob("flask/template/pyproject.toml*"))
    edit(pyproject, lambda t: t + "# from the template\n")
    line = refused_without_change(project, says="pyproject.toml, which git is told to ignore")
    assert f"git update-index --no-{flag} pyproject.toml" in line
    refused_without_change(project, "--dry-run", says=flag)  # as the real run
    checked = update(project, "--check")
    assert checked.exit_code == 4 and "the update would refuse" in checked.output
    assert (project / "pyproject.toml").read_text().endswith("# my local tweak\n")


def test_modify_delete_and_binary_conflicts_get_their_own_next_step(
    tmp_path: Path, templates: Path
) -> None:
    logo = base_file(templates, "logo.bin")
    logo.write_bytes(b"\x00\x01 first")
    project = generate(tmp_path / "shop", "flask")
    git(project, "rm", "--quiet", ".editorconfig")
    (project / "logo.bin").write_bytes(b"\x00\x02 ours")
    commit(project)
    change_editorconfig(templates)
    logo.write_bytes(b"\x00\x03 theirs")
    result = update(project)
    assert result.exit_code == 3, result.output
    assert "CONFLICT (modify/delete): .editorconfig deleted in HEAD" in result.output
    assert "keep it with `git add .editorconfig`, or delete it with `git rm" in result.output
    assert "git checkout --ours -- logo.bin" in result.output
    assert "markers in" not in result.output  # neither kind has any


# hand edits of .scaffold.yml


def test_a_hand_edited_framework_is_refused(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    edit(project / ".scaffold.yml", lambda t: t.replace("framework: flask", "framework: django"))
    commit(project)
    refused_without_change(project, says="does not convert a project to another framework")


def test_an_answer_removed_by_hand_is_refused_not_refilled(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask", "package=store")
    edit(project / ".scaffold.yml", lambda t: t.replace("  package: store\n", ""))
    commit(project)
    refused_without_change(project, says="lost the answer package")
    refused_without_change(project, "--check", says="--data package=")
    result = update(project, "--data", "package=store")
    assert result.exit_code == 0, result.output  # said again, it is kept


# ignored files, backed-out merges, template authors


def test_an_ignored_file_where_the_template_adds_one_is_kept_unless_asked(
    tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", "flask")
    with (project / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("NOTES.md\n")
    (project / "NOTES.md").write_text("my own notes\n")
    base_file(templates, "NOTES.md").write_text("the template's notes\n")
    assert "ignored, untracked" in update(project, "--check").output
    refused_without_change(project, says="NOTES.md")
    assert (project / "NOTES.md").read_text() == "my own notes\n"
    result = update(project, "--overwrite-ignored")
    assert result.exit_code == 0 and "replaced your ignored" in result.output, result.output
    assert (project / "NOTES.md").read_text() == "the template's notes\n"


def test_a_backed_out_answer_change_is_not_reported_as_done(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    edit(project / "README.md", lambda t: t.replace("shop, a web application.", "Our shop."))
    commit(project)
    tip = git(project, "rev-parse", TEMPLATE_BRANCH)
    result = update(project, "--data", "description=Something else")
    assert result.exit_code == 3, result.output
    git(project, "merge", "--abort")
    result = update(project)  # the record still has the old description
    assert result.exit_code == 0, result.output
    assert "already up to date" in result.output and "backed out" in result.output
    assert git(project, "rev-parse", TEMPLATE_BRANCH) == tip
    assert "refs/scaffold/" not in git(project, "for-each-ref")


def test_a_render_from_scaffold_templates_is_not_replaced_silently(
    tmp_path: Path, templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = generate(tmp_path / "shop", "flask")
    change_editorconfig(templates)
    assert update(project).exit_code == 0
    message = git(project, "log", "-1", "--format=%B", TEMPLATE_BRANCH)
    assert f"Scaffold-Templates: {templates.resolve()} sha256:" in message
    monkeypatch.delenv("SCAFFOLD_TEMPLATES")
    result = update(project, "--check")
    assert result.exit_code == 4, result.output
    assert f"was rendered from {templates.resolve()} sha256:" in result.output
    assert "replaces what those templates changed" in result.output


def test_an_env_the_system_will_not_replace_is_a_note_and_the_merge_stays(
    tmp_path: Path,
) -> None:
    """The merge is done when .env is written: a failure there is said, not a traceback, and
    the old .env stays whole."""
    project = generate(tmp_path / "shop", "flask")
    env_before = (project / ".env").read_bytes()
    (project / ".env.scaffold-new").mkdir()  # where the new .env would be written first
    with (project / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write(".env.scaffold-new\n")
    result = update(project, "--data", "package=store")
    assert result.exit_code == 0, result.output
    assert "could not update .env (Is a directory)" in result.output
    assert "  .env: set GUNICORN_BIND=unix:/run/store/gunicorn.sock" in result.output
    assert (project / ".env").read_bytes() == env_before
    assert git(project, "log", "-1", "--format=%s").startswith(f"Merge {TEMPLATE_BRANCH}")


# found by the review of this change


def test_a_local_template_branch_behind_the_teams_uses_the_teams(tmp_path: Path) -> None:
    project = generate(tmp_path / "proj", "flask")
    hub = tmp_path / "hub.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(project), str(hub))
    first, second = tmp_path / "first", tmp_path / "second"
    for clone in (first, second):
        git(tmp_path, "clone", "--quiet", str(hub), str(clone))
    git(second, "branch", "--quiet", TEMPLATE_BRANCH, f"origin/{TEMPLATE_BRANCH}")
    assert update(first, "--data", "description=A shop").exit_code == 0
    git(first, "push", "--quiet", "origin", "main", TEMPLATE_BRANCH)
    git(second, "pull", "--quiet", "--no-rebase")
    checked = update(second, "--check")
    assert checked.exit_code == 0 and "already up to date" in checked.output, checked.output
    assert update(second, "--data", "description=Another").exit_code == 0
    git(second, "push", "--quiet", "origin", TEMPLATE_BRANCH)  # a fast-forward
    # Diverged: both sides made template commits the other lacks.
    assert update(first, "--data", "description=Mine").exit_code == 0
    git(first, "fetch", "--quiet")
    refused_without_change(first, says="have diverged")


def test_check_takes_a_detached_head_and_untracked_files(tmp_path: Path, templates: Path):
    """CI checkouts are often detached, and a build leaves files behind: a check writes
    nothing, so neither stops it."""
    project = generate(tmp_path / "shop", "flask")
    git(project, "checkout", "--quiet", "--detach")
    (project / "build.log").write_text("x")
    change_editorconfig(templates)
    before = repo_state(project)
    result = update(project, "--check")
    assert result.exit_code == 4, result.output
    assert repo_state(project) == before
    refused_without_change(project, says="detached HEAD")  # a real update needs a branch


def test_a_tracked_directory_where_the_template_adds_a_file_is_a_conflict(
    tmp_path: Path,
) -> None:
    project = generate(tmp_path / "shop", "flask")
    (project / "Dockerfile").mkdir()
    (project / "Dockerfile" / "notes").write_text("x\n")
    commit(project)
    checked = update(project, "--check", "--json", "--data", "docker=true")
    body = json.loads(checked.output)
    assert not [note for note in body["notes"] if "ignored" in note], body["notes"]
    assert update(project, "--dry-run", "--data", "docker=true").exit_code == 3
    result = update(project, "--data", "docker=true")
    assert result.exit_code == 3, result.output
    real = json.loads(json.dumps(sorted(body["conflicts"])))
    unmerged = sorted(set(git(project, "diff", "--name-only", "--diff-filter=U").splitlines()))
    assert real == unmerged  # the names the real merge wrote, no commit id in them


def test_conflict_kinds_name_their_paths(tmp_path: Path, templates: Path) -> None:
    gone = base_file(templates, "gone.txt")
    gone.write_text("soon gone\n")
    project = generate(tmp_path / "shop", "flask")
    git(project, "mv", "gone.txt", "moved.txt")
    edit(project / "moved.txt", lambda t: t + "ours\n")
    os.symlink("README.md", project / "Dockerfile")
    commit(project)
    gone.unlink()
    predicted = json.loads(update(project, "--check", "--json", "--data", "docker=true").output)
    kinds = {c["path"]: c["kind"] for c in predicted["conflict_details"]}
    result = update(project, "--data", "docker=true")
    assert result.exit_code == 3, result.output
    assert kinds.get("Dockerfile") == "type", kinds
    assert "git checkout --ours -- Dockerfile" in result.output
    assert kinds.get("moved.txt") == "rename", kinds
    assert "keep moved.txt with `git add moved.txt`, or drop it with `git rm moved.txt`" in (
        result.output
    )


def test_json_is_printed_for_a_project_that_fails(tmp_path: Path) -> None:
    result = run_cli("update", "--check", "--json", str(tmp_path / "nothere"))
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["project"] == str(tmp_path / "nothere") and body["exit_code"] == 2
    assert "is not a directory" in body["error"] and body["files"] == []


def test_a_project_named_twice_is_updated_once(tmp_path: Path, templates: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    change_editorconfig(templates)
    result = run_cli("update", str(project), str(project) + "/", str(project / ".." / "shop"))
    assert result.exit_code == 0, result.output
    assert result.output.count("== ") == 0  # one project: its report alone, no table
    assert git(project, "log", "--merges", "--format=%s").count("Merge scaffold/template") == 1


def test_several_projects_name_each_block_and_an_interrupt_says_what_was_done(
    tmp_path: Path, templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = [generate(tmp_path / f"shop{n}", "flask") for n in range(3)]
    change_editorconfig(templates)
    real = batch.update_project

    def interrupted_at_the_second(project: Path, *args, **kwargs):
        if project == projects[1]:
            raise KeyboardInterrupt  # as SIGTERM arrives, with that project as before
        return real(project, *args, **kwargs)

    monkeypatch.setattr(batch, "update_project", interrupted_at_the_second)
    result = run_cli("update", *map(str, projects))
    assert result.exit_code == 130, result.output
    assert f"== {projects[0]}" in result.output
    assert f"interrupted during {projects[1]}, which is as before" in result.output
    assert "1 project(s) done, 1 not started" in result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[-3:]}
    assert "not started" in rows[str(projects[2])]
    assert "interrupted, as before" in rows[str(projects[1])]


def test_a_template_branch_checked_out_elsewhere_is_not_moved_under_it(
    tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", "flask")
    git(project, "worktree", "add", "--quiet", str(tmp_path / "pristine"), TEMPLATE_BRANCH)
    change_editorconfig(templates)
    refused_without_change(project, says="checked out in the worktree")
    assert update(project, "--check").exit_code == 4


def test_a_bare_repository_and_a_broken_copier_yml_are_one_line(
    tmp_path: Path, templates: Path
) -> None:
    project = generate(tmp_path / "shop", "flask")
    git(tmp_path, "clone", "--quiet", "--bare", str(project), str(tmp_path / "bare.git"))
    result = update(tmp_path / "bare.git", "--check")
    assert result.exit_code == 2 and "bare repository" in result.output, result.output
    (templates / "flask" / "copier.yml").write_text(": : :\n")
    result = update(project, "--check")
    assert result.exit_code == 1 and "is not a YAML mapping" in result.output, result.output
    assert "Traceback" not in result.output


def test_a_missing_env_is_named_as_missing(tmp_path: Path) -> None:
    project = generate(tmp_path / "shop", "flask")
    (project / ".env").unlink()
    result = update(project, "--data", "package=store")
    assert result.exit_code == 0, result.output
    assert "there is no .env; create it from .env.example" in result.output
    assert not (project / ".env").exists()
