"""Click commands: parse, call the flow, print. No logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from scaffold import __version__, interrupts
from scaffold.errors import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    OperationFailed,
    ScaffoldError,
    SystemRefused,
)


def _fail(error: ScaffoldError) -> None:
    click.echo(f"scaffold: error: {error}", err=True)
    sys.exit(error.exit_code)


class ScaffoldGroup(click.Group):
    """Turns every expected failure, click's usage errors included, into one line and an exit
    code, and Ctrl-C into a clean exit."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except ScaffoldError as error:
            _fail(error)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "scaffold"
            click.echo(f"scaffold: error: {error.format_message()}; see `{where} --help`", err=True)
            sys.exit(EXIT_USAGE)
        except (KeyboardInterrupt, click.Abort):
            click.echo("scaffold: interrupted; nothing was left behind", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except click.ClickException as error:
            _fail(OperationFailed(error.format_message()))
        except OSError as error:  # a flow that did not name its operation; still one line
            _fail(SystemRefused.from_os_error(error, "finish"))
        finally:
            interrupts.release()
        sys.exit(result if isinstance(result, int) else 0)


def _is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _prompt(question: Any, default: Any) -> Any:
    from scaffold.errors import BadInput

    def parse(raw: Any) -> Any:
        try:
            return question.parse(raw)
        except BadInput as error:
            raise click.BadParameter(error.message) from error

    if question.type == "bool":
        return click.confirm(question.help, default=bool(default))
    suffix = f" ({'/'.join(question.choices)})" if question.choices else ""
    return click.prompt(f"{question.help}{suffix}", default=default, value_proc=parse)


@click.group(cls=ScaffoldGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scaffold")
def main() -> None:
    """Recommend a Python web framework and generate a production-ready project."""
    interrupts.install()


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def list_frameworks(as_json: bool) -> None:
    """List the frameworks scaffold can generate."""
    import json

    from scaffold.catalog import FRAMEWORKS

    rows = [
        {
            "name": fw.name,
            "title": fw.title,
            "summary": fw.summary,
            "traits": list(fw.traits),
            "interface": fw.interface if not fw.interface_answer else "wsgi|asgi",
        }
        for fw in FRAMEWORKS
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<8} {row['summary']}")
        click.echo(f"{'':<8} traits: {', '.join(row['traits'])}")


def _needs_options(command: Any) -> Any:
    """One flag per recommender question, generated from the question list."""
    from scaffold.recommend import NEEDS_QUESTIONS

    for question in reversed(NEEDS_QUESTIONS):
        if question.type == "bool":
            flag = f"--{question.name}/--no-{question.name}"
            command = click.option(flag, default=None, help=question.help)(command)
        else:
            command = click.option(
                f"--{question.name}",
                type=click.Choice(question.choices),
                default=None,
                help=question.help,
            )(command)
    return command


def _collect_needs(given: dict[str, Any], interactive: bool) -> dict[str, Any]:
    from scaffold.questions import resolve_answers
    from scaffold.recommend import NEEDS_QUESTIONS

    given = {k: v for k, v in given.items() if v is not None}
    return resolve_answers(NEEDS_QUESTIONS, given, _prompt if interactive else None)


@main.command()
@_needs_options
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def recommend(as_json: bool, **needs: Any) -> None:
    """Ask what you are building and recommend a framework, saying why."""
    import json

    from scaffold.recommend import recommend as pick

    answers = _collect_needs(needs, _is_interactive() and not as_json)
    result = pick(answers)
    if as_json:
        click.echo(json.dumps({**result.as_dict(), "needs": answers}, indent=2))
    else:
        click.echo(f"Recommended: {result.why}")
        click.echo(f"Next: scaffold new my-project --framework {result.pick}")


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--framework",
    "-f",
    help="one of `scaffold list` (django, flask, ...); asked (with a recommendation) when omitted.",
)
@click.option("--defaults", is_flag=True, help="Ask nothing; use defaults for unset answers.")
@click.option(
    "--data",
    "-d",
    "data",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set an answer, e.g. --data package=shop. Repeatable.",
)
@click.option("--no-git", is_flag=True, help="Do not create a git repository (disables update).")
def new(
    dest: Path, framework: str | None, defaults: bool, data: tuple[str, ...], no_git: bool
) -> None:
    """Generate a new project in DEST."""
    from scaffold.new import check_destination, create_project
    from scaffold.questions import parse_data_pairs
    from scaffold.recommend import recommend as pick

    given = parse_data_pairs(data)
    interactive = _is_interactive() and not defaults
    if framework is None:
        if not interactive:
            raise_usage(
                "--framework is required when not interactive",
                "add e.g. --framework flask, or see `scaffold recommend`",
            )
        check_destination(Path(dest).absolute())
        result = pick(_collect_needs({}, True))
        click.echo(f"Recommended: {result.why}")
        framework = click.prompt("Framework", default=result.pick)
    project = create_project(
        dest, framework, given, _prompt if interactive else None, use_git=not no_git
    )
    click.echo(f"Created {project.framework.title} project in {project.path}")
    click.echo(f"  cd {dest}")
    click.echo("  python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]'")
    click.echo("  pytest")
    click.echo(f"  {project.framework.dev_command_for(project.answers)}")


@main.command()
@click.argument("projects", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--data",
    "-d",
    "data",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change an answer, e.g. --data description='A shop'. Repeatable.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the diff that would be merged; change nothing."
)
@click.option(
    "--check",
    is_flag=True,
    help="Say whether an update is available, which files it changes and which would "
    "conflict; change nothing. Exit 4 when one is available.",
)
@click.option(
    "--overwrite-ignored",
    is_flag=True,
    help="Let the template's new files replace ignored, untracked files at the same paths.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def update(
    ctx: click.Context,
    projects: tuple[Path, ...],
    data: tuple[str, ...],
    dry_run: bool,
    check: bool,
    overwrite_ignored: bool,
    as_json: bool,
) -> None:
    """Merge template improvements (and changed answers) into each PROJECT (default: .)."""
    import json

    from scaffold.questions import parse_data_pairs
    from scaffold.update.batch import update_many, worst
    from scaffold.update.report import report_lines, summary_lines

    if dry_run and check:
        raise_usage("--dry-run and --check do not go together", "pick one")
    from scaffold.errors import EXIT_INTERRUPTED
    from scaffold.update.batch import Outcome, distinct, interrupted, stopped_line

    paths = distinct(projects or (Path("."),))
    several = len(paths) > 1
    outcomes: list[Outcome] = []
    try:
        for outcome in update_many(
            paths, parse_data_pairs(data), dry_run, check, overwrite_ignored
        ):
            outcomes.append(outcome)
            if outcome.error is not None and not several:
                if as_json:
                    click.echo(json.dumps(outcome.as_dict(), indent=2))
                raise outcome.error
            if several and not as_json:
                click.echo(f"== {outcome.project}")
            if outcome.error is not None:
                click.echo(f"scaffold: error: {outcome.error}", err=True)
            elif not as_json:
                click.echo("\n".join(report_lines(outcome.result)))  # type: ignore[arg-type]
    except KeyboardInterrupt:
        if not several:
            raise
        stopped = interrupted(paths, outcomes)
        click.echo(f"scaffold: {stopped_line(outcomes, stopped)}", err=True)
        outcomes += stopped
    if as_json:
        bodies = [outcome.as_dict() for outcome in outcomes]
        click.echo(json.dumps(bodies if several else bodies[0], indent=2))
    elif several:
        click.echo("\n".join(["", *summary_lines(outcomes)]))
    if any(outcome.stopped for outcome in outcomes):
        ctx.exit(EXIT_INTERRUPTED)
    ctx.exit(worst(outcome.exit_code for outcome in outcomes))


@main.command()
@click.argument("project", default=".", type=click.Path(path_type=Path))
def adopt(project: Path) -> None:
    """Recreate the scaffold/template branch of PROJECT from its current answers."""
    from scaffold.adopt import adopt_project

    result = adopt_project(project)
    click.echo(
        f"Created {result.branch} at {result.commit[:12]} from the answers in "
        f"{result.record_file} (scaffold {result.version}) and merged it into "
        f"{result.into} without changing any file"
    )
    click.echo(
        f"  review how the project differs from a fresh render: git diff {result.branch} HEAD"
    )


@main.command()
@click.argument("project", default=".", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one machine-readable JSON document.")
@click.option("--no-nginx", is_flag=True, help="Skip the nginx stage (gunicorn only).")
@click.option(
    "--systemd",
    is_flag=True,
    help="Instead, deploy it with deploy/install.sh into a throwaway Debian machine with "
    "systemd (root, systemd-container, debootstrap) and probe it there.",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the venv, logs and nginx prefix for inspection; with --systemd, the machine.",
)
@click.option(
    "--app-hosts",
    type=int,
    default=None,
    metavar="N",
    help="With --systemd: N app machines, a proxy and a database machine, deployed by "
    "deploy/ansible/site.yml; one loses its power, rejoins, and a rolling release follows.",
)
def check(
    project: Path,
    as_json: bool,
    no_nginx: bool,
    systemd: bool,
    keep: bool,
    app_hosts: int | None,
) -> None:
    """Prove PROJECT (default: .) installs, passes its tests and boots behind nginx."""
    from scaffold.check import (
        Progress,
        failure,
        result_lines,
        run_check,
        run_cluster_rehearsal,
        run_rehearsal,
    )

    progress = (
        Progress()
        if as_json
        else Progress(
            started=lambda name: (
                click.echo(f"  ..    {name}", err=True) if _is_interactive() else None
            ),
            finished=lambda result: click.echo("\n".join(result_lines(result))),
            output=lambda line: click.echo(f"        {line}", err=True) if line.strip() else None,
        )
    )
    if systemd and no_nginx:
        raise_usage("--systemd deploys behind nginx; it cannot skip it", "drop --no-nginx")
    if app_hosts is not None and not systemd:
        raise_usage("--app-hosts rehearses several machines under systemd", "add --systemd")
    if app_hosts is not None:
        report = run_cluster_rehearsal(project, app_hosts, keep=keep, progress=progress)
    elif systemd:
        report = run_rehearsal(project, keep=keep, progress=progress)
    else:
        report = run_check(project, nginx=not no_nginx, keep=keep, progress=progress)
    click.echo(report.to_json() if as_json else report.summary())
    if error := failure(report):
        raise error


def raise_usage(message: str, hint: str) -> None:
    from scaffold.errors import BadInput

    raise BadInput(message, hint)


if __name__ == "__main__":  # pragma: no cover
    main()
