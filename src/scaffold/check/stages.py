"""Stages 1-4 of `scaffold check`: a fresh venv, the project installed into it, the project's
own tests (started in the background) and the framework's checks and prepare steps."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time

from scaffold.check.report import StageFailed
from scaffold.check.workspace import CheckContext
from scaffold.errors import OperationFailed
from scaffold.subprocesses import BackgroundProcess, run_logged, tail_lines

TESTS_NICENESS = 10
COMMAND_TIMEOUT = 300


def make_venv(ctx: CheckContext) -> str:
    ctx.venv.create(ctx.log("venv"), ctx.progress.output)
    where = f" at {ctx.venv.path}" if ctx.workspace.keep else ""
    return f"fresh environment with {ctx.venv.tool}{where}"


def install_project(ctx: CheckContext) -> str:
    lines: list[str] = []

    def show(line: str) -> None:
        lines.append(line)
        if not re.match(r"\s*[+-] \S", line):  # uv's per-package list is noise here
            ctx.progress.output(line)

    ctx.venv.install_project(ctx.log("install"), show)
    summary = [line.strip() for line in lines if re.match(r"\s*Installed \d", line)]
    summary += [
        f"installed {len(line.split()) - 2} packages"
        for line in lines
        if line.startswith("Successfully installed")
    ]  # pip's wording
    return "pip install -e '.[dev]'" + (f": {summary[-1]}" if summary else "")


class ProjectTests:
    """The project's own pytest, running in the background; `wait` gives its summary."""

    def __init__(self, process: BackgroundProcess) -> None:
        self.process = process
        self.started = time.monotonic()
        self.ended: float | None = None
        self._waiter = threading.Thread(target=self._wait_exit, daemon=True)
        self._waiter.start()

    def _wait_exit(self) -> None:
        self.process.process.wait()
        self.ended = time.monotonic()

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def wait(self, timeout: float) -> str:
        self._waiter.join(max(0.0, self.started + timeout - time.monotonic()))
        if self.ended is None:
            self.process.kill()
            raise OperationFailed(f"`pytest` timed out after {timeout:.0f}s")
        if (code := self.process.exit_code) != 0:
            raise OperationFailed(f"`pytest` exited with code {code}")
        summary = [
            line for line in tail_lines(self.process.log, 5) if re.search(r"\d+ passed", line)
        ]
        return summary[-1].strip("= ") if summary else "the project's tests passed"


def start_tests(ctx: CheckContext) -> ProjectTests:
    """Whatever the tests leave in $TMPDIR or pytest's basetemp (and .pytest_cache, turned off)
    goes away with the work directory."""
    work = ctx.workspace.path
    temp = work / "tmp"
    temp.mkdir()
    command = [
        str(ctx.venv.python),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--basetemp={work / 'pytest'}",
    ]
    tests = ProjectTests(
        BackgroundProcess(
            command,
            cwd=ctx.project,
            env=ctx.venv.env({"TMPDIR": str(temp)}),
            log=ctx.log("tests"),
        )
    )
    ctx.workspace.on_close(tests.process.kill)
    # Lower priority: the serving stages are the critical path; the tests take what is left.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, tests.process.process.pid, TESTS_NICENESS)
    return tests


def framework_checks(ctx: CheckContext) -> str:
    """The catalog's checks (read-only) run side by side; then its prepare steps in order."""
    framework = ctx.target.framework
    prepare = framework.prepare_for(ctx.target.answers)
    commands = [*framework.checks, *prepare]
    if not commands:
        return f"{framework.title} declares no checks or prepare steps"
    env = ctx.command_env()
    running = []
    for index, command in enumerate(framework.checks):
        process = BackgroundProcess(
            ctx.venv_command(command), cwd=ctx.project, env=env, log=ctx.log(f"checks-{index}")
        )
        ctx.workspace.on_close(process.kill)
        running.append((" ".join(command), process))
    for label, process in running:
        if process.stop(0, COMMAND_TIMEOUT) is None:  # signal 0: only wait
            raise StageFailed(f"`{label}` timed out after {COMMAND_TIMEOUT}s", process.log)
        if process.exit_code != 0:
            raise StageFailed(f"`{label}` exited with code {process.exit_code}", process.log)
    for command in prepare:
        run_logged(
            ctx.venv_command(command),
            cwd=ctx.project,
            env=env,
            log=ctx.log("checks"),
            timeout=COMMAND_TIMEOUT,
            label=" ".join(command),
        )
    return "ran " + "; ".join(
        " ".join(command[1:] if command[0] == "python" else command) for command in commands
    )
