"""Benchmark: `scaffold update` vs `copier update` on the same one-line template change.

Both start from a default Flask project (all three layers) and take the same change to
.editorconfig. Copier gets an equivalent template: the three layers merged into one folder,
in a git repository tagged v1 (the project's base) and v2 (the change), plus the answers file
Copier's update needs. Each round resets both projects to before the update (untimed), then
runs each update once, interleaved so machine noise hits both alike, after one untimed warm-up
round. Both tools run from this interpreter's venv with bytecode compiled (`prepare_bytecode`).

    python benchmarks/update.py [--rounds 9] [--framework flask] [--baseline DIR]
    python benchmarks/update.py --check [--rounds 9] [--framework flask] [--projects 20]

--baseline DIR also times another scaffold version in the same run: DIR is its source tree
(src/ and templates/), e.g. `mkdir DIR && git archive ed1da59 | tar -x -C DIR`.

--check times the read-only check instead: `scaffold update --check` on 1 project and on
--projects projects in one call, against `copier check-update` on 1 project and once per
project in a row (it takes one project per call; the whole loop is one sample). Every project
has the change available; the script fails unless each check exits with its "update
available" code (scaffold 4, `copier check-update --quiet` 2), unless the JSON of both names
the update, and unless every project's refs, status and files are unchanged at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
mode, framework, template, *destinations = sys.argv[1:]
fw = catalog.get(framework)
data = catalog.template_data(fw, resolve_answers(fw.questions, {}))
for dst in destinations:
    if mode == "copy":
        copier.run_copy(template, dst, data=data, defaults=True, quiet=True, vcs_ref="v1")
    else:
        copier.run_update(dst, data=data, defaults=True, overwrite=True, quiet=True,
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


def state(project: Path) -> str:
    """Everything a check must leave alone: refs, HEAD, git's top-level state files (merge
    heads...), the status with ignored files, and every worktree file's bytes."""
    digest = hashlib.sha256()
    digest.update(git(project, "for-each-ref", "--format=%(refname) %(objectname)").encode())
    digest.update(
        git(project, "status", "--porcelain", "--ignored", "--untracked-files=all").encode()
    )
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if relative.parts[0] == ".git" and (len(relative.parts) > 2 or path.name == "index"):
            continue  # objects and refs/ (for-each-ref covers refs); git status rewrites index
        if path.is_dir() and not path.is_symlink():
            continue
        digest.update(str(relative).encode() + b"\0")
        digest.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
    return digest.hexdigest()


def check_main(args: argparse.Namespace) -> None:
    """`scaffold update --check` vs `copier check-update`, 1 project and N projects."""
    count = args.projects
    bytecode = prepare_bytecode()
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-update-check-"))
    env = {**os.environ, **IDENTITY, "GIT_CONFIG_GLOBAL": "/dev/null"}
    scaffold = str(BIN / "scaffold")
    try:
        templates = work / "templates"
        shutil.copytree(REPO / "templates", templates, ignore=shutil.ignore_patterns("__pycache__"))
        env["SCAFFOLD_TEMPLATES"] = str(templates)
        projects = [work / f"scaffold-{i:02d}" for i in range(1, count + 1)]
        for project in projects:
            subprocess.run(
                [scaffold, "new", str(project), "--framework", args.framework, "--defaults"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        change_template(templates / "base" / "template")

        copier_src = work / "copier-template"
        copier_template(REPO / "templates", args.framework, copier_src)
        copies = [work / f"copier-{i:02d}" for i in range(1, count + 1)]
        subprocess.run(
            [sys.executable, "-c", COPIER_SCRIPT, "copy", args.framework, str(copier_src)]
            + [str(copy) for copy in copies],
            env=env,
            check=True,
        )
        for copy in copies:
            git(copy, "init", "--quiet")
            git(copy, "add", "--all")
            git(copy, "commit", "--quiet", "-m", "generated by copier")

        def assert_reported() -> None:
            """Both tools' JSON must name the update, or the timing means nothing."""
            out = subprocess.run(
                [scaffold, "update", "--check", "--json", *map(str, projects)],
                env=env,
                capture_output=True,
                text=True,
            )
            reports = json.loads(out.stdout) if out.stdout.strip() else None
            if count == 1 and isinstance(reports, dict):
                reports = [reports]
            if (
                out.returncode != 4
                or not isinstance(reports, list)
                or len(reports) != count
                or not all(
                    report.get("update_available") is True
                    and any(".editorconfig" in name for name in report.get("files", ()))
                    and report.get("conflicts") == []
                    for report in reports
                )
            ):
                raise SystemExit(
                    f"scaffold update --check --json did not report the .editorconfig "
                    f"update for all {count} projects (exit {out.returncode}):\n"
                    f"{out.stdout[-1000:]}{out.stderr[-1000:]}"
                )
            for copy in copies[:1] + copies[-1:]:
                out = subprocess.run(
                    [str(BIN / "copier"), "check-update", "--output-format", "json", str(copy)],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                report = json.loads(out.stdout) if out.returncode == 0 else {}
                if report != {
                    "update_available": True,
                    "current_version": "1",
                    "latest_version": "2",
                }:
                    raise SystemExit(
                        f"copier check-update did not report v1 -> v2 for {copy.name} "
                        f"(exit {out.returncode}): {out.stdout}{out.stderr[-1000:]}"
                    )

        assert_reported()
        before = {project: state(project) for project in (*projects, *copies)}

        def scaffold_check(targets: list[Path]) -> Callable[[int], tuple[float, float]]:
            argv = [scaffold, "update", "--check", *map(str, targets)]
            return lambda _: timed_run(argv, env=env, expect=4)

        def copier_check(targets: list[Path]) -> Callable[[int], tuple[float, float]]:
            def run(_: int) -> tuple[float, float]:
                total = peak = 0.0
                for target in targets:  # copier checks one project per call
                    argv = [str(BIN / "copier"), "check-update", "--quiet", str(target)]
                    seconds, mb = timed_run(argv, env=env, expect=2)
                    total, peak = total + seconds, max(peak, mb)
                return total, peak

            return run

        jobs = {
            "scaffold --check (1 project)": scaffold_check(projects[:1]),
            f"scaffold --check ({count} projects)": scaffold_check(projects),
            "copier check-update (1 project)": copier_check(copies[:1]),
            f"copier check-update ({count} calls)": copier_check(copies),
        }
        results = interleave(args.rounds, jobs)
        changed = [p.name for p in before if state(p) != before[p]]
        if changed:
            raise SystemExit(f"the check changed these projects: {', '.join(changed)}")
        if any(git(p, "status", "--porcelain") for p in before):
            raise SystemExit("a project's git status is not clean")
        assert_reported()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(
        f"Check for one template change (.editorconfig), {args.framework}, {args.rounds} rounds",
        load,
        bytecode,
        results,
    )
    # Per project, and scaffold against copier on the same number of projects.
    one, many, copier_one, copier_many = results.values()
    print("\n| what | projects | median s | per project s | vs copier |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for series, n, versus in (
        (one, 1, copier_one),
        (many, count, copier_many),
        (copier_one, 1, None),
        (copier_many, count, None),
    ):
        ratio = f"{series.median / versus.median:.2f}x" if versus else "ref"
        print(f"| {series.name} | {n} | {series.median:.3f} | {series.median / n:.3f} | {ratio} |")


def report(title: str, load: float, bytecode: str, results: dict, extra: str = "") -> None:
    """The run's conditions, then its table (the first job is the reference)."""
    print(f"{title}, interleaved, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    print(bytecode + "\n")
    if extra:
        print(extra)
    print_table(results, next(iter(results.values())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--framework", default="flask")
    parser.add_argument("--baseline", type=Path, help="another scaffold source tree to time")
    parser.add_argument("--check", action="store_true", help="time the read-only check")
    parser.add_argument("--projects", type=int, default=20, help="projects for --check")
    args = parser.parse_args()
    if args.check:
        if args.baseline:
            parser.error("--baseline times `scaffold update`; it has no --check to compare")
        if args.projects < 1:
            parser.error("--projects must be at least 1")
        check_main(args)
        return
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
                args.framework,
                str(copier_src),
                str(copier_project),
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
                    args.framework,
                    str(copier_src),
                    str(copier_project),
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
    extra = f"baseline: scaffold from {baseline / 'src'}\n" if baseline else ""
    report(
        f"One template change (.editorconfig), {args.rounds} rounds", load, bytecode, results, extra
    )


if __name__ == "__main__":
    main()
