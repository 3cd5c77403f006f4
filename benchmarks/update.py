"""Benchmark: `scaffold update` vs `copier update` on the same one-line template change.

Both start from a default Flask project (all three layers) and take the same change to
.editorconfig. Copier gets an equivalent template: the three layers merged into one folder,
in a git repository tagged v1 (the project's base) and v2 (the change), plus the answers file
Copier's update needs. Each round resets both projects to before the update (untimed), then
runs each update once, interleaved so machine noise hits both alike, after one untimed warm-up
round. Both tools run from this interpreter's venv with bytecode compiled (`prepare_bytecode`).

    python benchmarks/update.py [--rounds 9] [--framework flask] [--baseline DIR]

--baseline DIR also times another scaffold version in the same run: DIR is its source tree
(src/ and templates/), e.g. `mkdir DIR && git archive ed1da59 | tar -x -C DIR`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import interleave, prepare_bytecode, print_table, timed_run  # noqa: E402

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
ANSWERS_FILE = "{{ _copier_conf.answers_file }}.jinja"
COPIER_SCRIPT = """
import sys, copier
from scaffold import catalog
from scaffold.questions import resolve_answers
fw = catalog.get(sys.argv[3])
data = catalog.template_data(fw, resolve_answers(fw.questions, {}))
if sys.argv[1] == "copy":
    copier.run_copy(sys.argv[4], sys.argv[2], data=data, defaults=True, quiet=True, vcs_ref="v1")
else:
    copier.run_update(sys.argv[2], data=data, defaults=True, overwrite=True, quiet=True,
                      conflict="inline", vcs_ref="v2")
"""


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **IDENTITY, "GIT_CONFIG_GLOBAL": "/dev/null"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def change_template(root: Path) -> None:
    """The one template change both tools merge: a new section in .editorconfig."""
    path = root / ".editorconfig"
    path.write_text(path.read_text() + "\n[*.md]\nindent_size = 2\n")


def copier_template(templates: Path, framework: str, dest: Path) -> None:
    """The three layers as one Copier template in git: v1 as generated, v2 with the change."""
    import yaml

    config: dict = {}
    for layer in ("base", framework, "deploy"):
        config.update(yaml.safe_load((templates / layer / "copier.yml").read_text()) or {})
        shutil.copytree(templates / layer / "template", dest / "template", dirs_exist_ok=True)
    (dest / "copier.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (dest / "template" / ANSWERS_FILE).write_text("{{ _copier_answers|to_nice_yaml -}}\n")
    git(dest, "init", "--quiet")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "-m", "v1")
    git(dest, "tag", "v1")
    change_template(dest / "template")
    git(dest, "commit", "--quiet", "-am", "v2")
    git(dest, "tag", "v2")


def scaffold_jobs(
    work: Path, label: str, templates_src: Path, env: dict[str, str], framework: str
) -> tuple[dict[str, Callable[[int], tuple[float, float]]], Path]:
    """A default project made by one scaffold, its templates taking the change, and its two
    timed updates: the real one (reset to before it each round) and the no-op after it."""
    templates = work / f"templates-{label}"
    shutil.copytree(templates_src, templates, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**env, "SCAFFOLD_TEMPLATES": str(templates)}
    project = work / f"project-{label}"
    subprocess.run(
        [str(BIN / "scaffold"), "new", str(project), "--framework", framework, "--defaults"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    head = git(project, "rev-parse", "HEAD")
    tip = git(project, "rev-parse", "scaffold/template")
    change_template(templates / "base" / "template")

    def update(_: int) -> tuple[float, float]:
        git(project, "reset", "--quiet", "--hard", head)
        git(project, "update-ref", "refs/heads/scaffold/template", tip)
        return timed_run([str(BIN / "scaffold"), "update", str(project)], env=env)

    def noop(_: int) -> tuple[float, float]:
        return timed_run([str(BIN / "scaffold"), "update", str(project)], env=env)

    return {f"{label} update ({framework})": update, f"{label} update (no-op)": noop}, project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--framework", default="flask")
    parser.add_argument("--baseline", type=Path, help="another scaffold source tree to time")
    args = parser.parse_args()
    baseline = args.baseline.resolve() if args.baseline else None
    bytecode = prepare_bytecode(extra=[baseline / "src"] if baseline else [])
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-update-"))
    env = {**os.environ, **IDENTITY, "GIT_CONFIG_GLOBAL": "/dev/null"}
    try:
        jobs, project = scaffold_jobs(work, "scaffold", REPO / "templates", env, args.framework)
        projects = [project]
        if baseline:  # PYTHONPATH wins over the venv's editable install
            baseline_env = {**env, "PYTHONPATH": str(baseline / "src")}
            more, project = scaffold_jobs(
                work, "baseline", baseline / "templates", baseline_env, args.framework
            )
            jobs.update(more)
            projects.append(project)

        copier_src = work / "copier-template"
        copier_template(REPO / "templates", args.framework, copier_src)
        copier_project = work / "copier-project"
        subprocess.run(
            [
                sys.executable,
                "-c",
                COPIER_SCRIPT,
                "copy",
                str(copier_project),
                args.framework,
                str(copier_src),
            ],
            env=env,
            check=True,
        )
        git(copier_project, "init", "--quiet")
        git(copier_project, "add", "--all")
        git(copier_project, "commit", "--quiet", "-m", "generated by copier")
        copier_head = git(copier_project, "rev-parse", "HEAD")

        def copier_update(_: int) -> tuple[float, float]:
            git(copier_project, "reset", "--quiet", "--hard", copier_head)
            git(copier_project, "clean", "--quiet", "-fdx")
            return timed_run(
                [
                    sys.executable,
                    "-c",
                    COPIER_SCRIPT,
                    "update",
                    str(copier_project),
                    args.framework,
                    str(copier_src),
                ],
                env=env,
            )

        jobs[f"copier update ({args.framework}, 3 layers)"] = copier_update
        results = interleave(args.rounds, jobs)
        # Every tool must have merged the change, or the timing means nothing.
        for where in (*projects, copier_project):
            if "[*.md]" not in (where / ".editorconfig").read_text():
                raise SystemExit(f"{where.name} did not receive the template change")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    reference = next(iter(results.values()))
    print(
        f"One template change (.editorconfig), {args.rounds} rounds, interleaved, "
        f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(bytecode + "\n")
    if baseline:
        print(f"baseline: scaffold from {baseline / 'src'}\n")
    print_table(results, reference)


if __name__ == "__main__":
    main()
