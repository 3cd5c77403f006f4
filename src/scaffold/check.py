"""The `check` flow: project -> fresh venv -> install -> its own tests -> framework checks ->
gunicorn (production config) -> nginx in front -> HTTP probes -> graceful shutdown -> report.

Each stage is timed and passes or fails; after a failure the rest are skipped. Temporary files and
every process started here are removed in all cases, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import catalog
from scaffold.errors import BadInput, OperationFailed
from scaffold.project import Record
from scaffold.subprocesses import BackgroundProcess, run_logged, tail_lines
from scaffold.venv import ProjectVenv, find_uv

STAGES = ("venv", "install", "tests", "checks", "gunicorn", "nginx", "shutdown")
TESTS_TIMEOUT = 600
TESTS_NICENESS = 10
COMMAND_TIMEOUT = 300
NGINX_SEARCH_PATH = "/usr/sbin:/sbin:/usr/local/sbin"


@dataclass
class StageResult:
    name: str
    status: str = "skipped"  # passed | failed | skipped
    seconds: float = 0.0
    message: str = ""
    log: list[str] = field(default_factory=list)  # last lines of the stage's log, on failure

    def as_dict(self) -> dict[str, Any]:
        row = {
            "name": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }
        return {**row, "log": self.log} if self.log else row


@dataclass
class CheckReport:
    project: Path
    framework: str
    stages: list[StageResult]
    kept: Path | None = None  # the work directory, when --keep
    seconds: float = 0.0  # wall time; less than the stages' sum, as the tests run alongside

    @property
    def failed(self) -> StageResult | None:
        return next((stage for stage in self.stages if stage.status == "failed"), None)

    def to_json(self) -> str:
        failed = self.failed
        return json.dumps(
            {
                "project": str(self.project),
                "framework": self.framework,
                "passed": failed is None,
                "failed_stage": failed.name if failed else None,
                "seconds": round(self.seconds, 3),
                "kept": str(self.kept) if self.kept else None,
                "stages": [stage.as_dict() for stage in self.stages],
            },
            indent=2,
        )

    def summary(self) -> str:
        seconds = self.seconds
        kept = f"; kept {self.kept}" if self.kept else ""
        if failed := self.failed:
            return f"check failed at stage {failed.name} after {seconds:.1f}s{kept}"
        behind = "" if self.stages[STAGES.index("nginx")].status == "skipped" else " behind nginx"
        return f"check passed: {self.project.name} boots{behind}, {seconds:.1f}s{kept}"


@dataclass
class Progress:
    """Callbacks the CLI passes to show what is happening; all optional."""

    started: Callable[[str], None] = lambda name: None
    finished: Callable[[StageResult], None] = lambda result: None
    output: Callable[[str], None] = lambda line: None  # install progress lines
    milestone: Callable[[str], None] = lambda what: None  # e.g. the first 200 through nginx


class StageFailed(Exception):
    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.log = log


def find_nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path=NGINX_SEARCH_PATH)


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


def short_temp_root() -> str:
    """$TMPDIR, unless it is so deep that our unix socket paths would pass the kernel's limit
    (108 bytes), which nginx and gunicorn refuse."""
    root = tempfile.gettempdir()
    return root if len(root) <= 60 else "/tmp"


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of the project's .env (comments and blanks skipped, quotes stripped)."""
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and key and not key.startswith("#"):
                values[key.strip()] = value.strip().strip("'\"")
    return values


class CheckRun:
    """One run of the check on one project; `run()` returns the report."""

    def __init__(self, project: Path, nginx: bool, keep: bool, progress: Progress) -> None:
        self.project = project.resolve()
        if not self.project.is_dir():
            raise BadInput(f"{project} is not a directory", "pass the path of a generated project")
        record = Record.read(self.project)
        self.framework = catalog.get(record.framework)
        self.answers = record.answers
        for key in ("package", "domain"):
            if not isinstance(self.answers.get(key), str):
                raise BadInput(
                    f"{self.project / '.scaffold.yml'} lacks the answer {key!r}",
                    "restore it with `git checkout -- .scaffold.yml`",
                )
        if not (self.project / "pyproject.toml").is_file():
            raise BadInput(f"{self.project} has no pyproject.toml", "restore it from git")
        self.nginx = find_nginx() if nginx else None
        if nginx and self.nginx is None:
            raise BadInput(
                "nginx is not installed",
                "install it (sudo apt-get install nginx) or pass --no-nginx",
            )
        if nginx and shutil.which("openssl") is None:  # for the throwaway TLS certificate
            raise BadInput(
                "openssl is not installed",
                "install it (sudo apt-get install openssl) or pass --no-nginx",
            )
        self.use_nginx = nginx
        self.keep = keep
        self.progress = progress
        self.package = self.answers["package"]
        self.domain = self.answers["domain"]
        self.results = [StageResult(name) for name in STAGES]
        self.work = Path(tempfile.mkdtemp(prefix="scaffold-check-", dir=short_temp_root()))
        self.logs = self.work / "logs"
        self.venv = ProjectVenv(self.work / "venv", self.project, find_uv())
        self.gunicorn: BackgroundProcess | None = None
        self.socket: Path | None = None  # gunicorn's temporary unix socket
        self.nginx_process: BackgroundProcess | None = None
        self.graceful_timeout = 30.0
        self._cleanups: list[Callable[[], None]] = []
        self.tests_alongside = True  # False: one stage after another (benchmarks compare both)

    # -- the flow -----------------------------------------------------------------------------

    def run(self) -> CheckReport:
        """The project's tests run in the background from install to the end of the nginx stage:
        serving does not depend on them, and they are the longest stage."""
        from scaffold import check_serving

        started = time.monotonic()
        try:
            self._step("venv", self.stage_venv)
            self._step("install", self.stage_install)
            tests = self._start_tests() if self.failed_stage is None else None
            if not self.tests_alongside:
                self._finish_tests(tests)
            self._step("checks", self.stage_checks)
            self._step("gunicorn", lambda: check_serving.stage_gunicorn(self))
            self._step("nginx", lambda: check_serving.stage_nginx(self))
            if self.tests_alongside:
                self._finish_tests(tests)
            self._step("shutdown", lambda: check_serving.stage_shutdown(self))
        finally:
            self.cleanup()
        return CheckReport(
            self.project,
            self.framework.name,
            self.results,
            self.work if self.keep else None,
            time.monotonic() - started,
        )

    def result(self, name: str) -> StageResult:
        return self.results[STAGES.index(name)]

    @property
    def failed_stage(self) -> StageResult | None:
        return next((r for r in self.results if r.status == "failed"), None)

    def _step(self, name: str, body: Callable[[], str]) -> None:
        """Run a stage of the serving chain, or skip it when one before it failed."""
        result = self.result(name)
        failed = next((r for r in self.results if r.status == "failed" and r.name != "tests"), None)
        if failed is not None:
            # cleanup() still stops whatever was started, just without judging how
            result.message = f"skipped: {failed.name} failed"
        elif name == "nginx" and not self.use_nginx:
            result.message = "skipped: --no-nginx"
        else:
            self._run_stage(result, body)
            return
        self.progress.finished(result)

    def _run_stage(self, result: StageResult, body: Callable[[], str]) -> None:
        self.progress.started(result.name)
        started = time.monotonic()
        try:
            result.message = body()
            result.status = "passed"
        except (StageFailed, OperationFailed) as error:
            self._fail(result, error)
        finally:
            result.seconds = time.monotonic() - started
        self.progress.finished(result)

    def _fail(self, result: StageResult, error: StageFailed | OperationFailed) -> None:
        result.status = "failed"
        result.message = error.message
        log = error.log if isinstance(error, StageFailed) else None
        result.log = tail_lines(log or self.log_path(result.name))

    def cleanup(self) -> None:
        """Stop everything we started and remove the work directory (kept with --keep)."""
        for stop in reversed(self._cleanups):
            stop()
        self._cleanups.clear()
        for process in (self.nginx_process, self.gunicorn):
            if process is not None:
                process.kill()
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    def on_cleanup(self, stop: Callable[[], None]) -> None:
        self._cleanups.append(stop)

    def log_path(self, stage: str) -> Path:
        return self.logs / f"{stage}.log"

    # -- environment ----------------------------------------------------------------------------

    def production_env(self) -> dict[str, str]:
        return {
            key: self.framework.fill(value, self.answers)
            for key, value in self.framework.production_env
        }

    def command_env(self) -> dict[str, str]:
        """For framework checks and prepare steps: production settings plus the project's .env,
        as a systemd unit with EnvironmentFile= would see them (the caller's values win)."""
        env = self.venv.env(self.production_env())
        for key, value in read_dotenv(self.project / ".env").items():
            env.setdefault(key, value)
        return env

    def venv_command(self, command: tuple[str, ...]) -> list[str]:
        """Run catalog commands with the fresh venv's programs ("python" included)."""
        program = self.venv.bin(command[0])
        return [str(program) if program.exists() else command[0], *command[1:]]

    # -- stages 1-4 -----------------------------------------------------------------------------

    def stage_venv(self) -> str:
        self.venv.create(self.log_path("venv"), self.progress.output)
        return f"fresh environment with {self.venv.tool}" + (
            f" at {self.venv.path}" if self.keep else ""
        )

    def stage_install(self) -> str:
        lines: list[str] = []

        def show(line: str) -> None:
            lines.append(line)
            if not re.match(r"\s*[+-] \S", line):  # uv's per-package list is noise here
                self.progress.output(line)

        self.venv.install_project(self.log_path("install"), show)
        summary = [line.strip() for line in lines if re.match(r"\s*Installed \d", line)]
        summary += [
            f"installed {len(line.split()) - 2} packages"
            for line in lines
            if line.startswith("Successfully installed")
        ]  # pip's wording
        return "pip install -e '.[dev]'" + (f": {summary[-1]}" if summary else "")

    def _start_tests(self) -> ProjectTests:
        self.progress.started("tests")
        # Whatever the tests leave in $TMPDIR or pytest's basetemp (and .pytest_cache, turned
        # off) goes away with our work directory.
        temp = self.work / "tmp"
        temp.mkdir()
        command = [
            str(self.venv.python),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--basetemp={self.work / 'pytest'}",
        ]
        tests = ProjectTests(
            BackgroundProcess(
                command,
                cwd=self.project,
                env=self.venv.env({"TMPDIR": str(temp)}),
                log=self.log_path("tests"),
            )
        )
        self.on_cleanup(tests.process.kill)
        # Lower priority: the serving stages are the critical path; the tests take what is left.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, tests.process.process.pid, TESTS_NICENESS)
        return tests

    def _finish_tests(self, tests: ProjectTests | None) -> None:
        result = self.result("tests")
        if tests is None:  # venv or install failed
            failed = self.failed_stage
            result.message = f"skipped: {failed.name if failed else 'install'} failed"
            self.progress.finished(result)
            return
        try:
            result.message = tests.wait(TESTS_TIMEOUT)
            result.status = "passed"
        except OperationFailed as error:
            self._fail(result, error)
        result.seconds = tests.seconds
        self.progress.finished(result)

    def stage_checks(self) -> str:
        """The catalog's checks (read-only) run side by side; then its prepare steps in order."""
        commands = [*self.framework.checks, *self.framework.prepare]
        if not commands:
            return f"{self.framework.title} declares no checks or prepare steps"
        env = self.command_env()
        running = [
            (
                " ".join(command),
                BackgroundProcess(
                    self.venv_command(command),
                    cwd=self.project,
                    env=env,
                    log=self.log_path(f"checks-{index}"),
                ),
            )
            for index, command in enumerate(self.framework.checks)
        ]
        for _, process in running:
            self.on_cleanup(process.kill)
        for label, process in running:
            if process.stop(0, COMMAND_TIMEOUT) is None:  # signal 0: only wait
                raise StageFailed(f"`{label}` timed out after {COMMAND_TIMEOUT}s", process.log)
            if process.exit_code != 0:
                raise StageFailed(f"`{label}` exited with code {process.exit_code}", process.log)
        for command in self.framework.prepare:
            run_logged(
                self.venv_command(command),
                cwd=self.project,
                env=env,
                log=self.log_path("checks"),
                timeout=COMMAND_TIMEOUT,
                label=" ".join(command),
            )
        return "ran " + "; ".join(
            " ".join(command[1:] if command[0] == "python" else command) for command in commands
        )


def result_lines(result: StageResult) -> list[str]:
    """One line per stage, then the tail of its log when it failed."""
    mark = {"passed": "ok", "failed": "FAIL", "skipped": "skip"}[result.status]
    lines = [f"  {mark:<5} {result.name:<9} {result.seconds:6.2f}s  {result.message}".rstrip()]
    return lines + [f"        | {line}" for line in result.log]


def failure(report: CheckReport) -> OperationFailed | None:
    """The error the CLI raises (exit 1) when a stage failed."""
    failed = report.failed
    if failed is None:
        return None
    hint = (
        "rerun with --keep to inspect the logs"
        if report.kept is None
        else (f"logs are in {report.kept / 'logs'}")
    )
    return OperationFailed(f"stage {failed.name} failed: {failed.message}", hint)


def run_check(
    project: Path, *, nginx: bool = True, keep: bool = False, progress: Progress | None = None
) -> CheckReport:
    """Check that the project at `project` installs, passes its tests and boots behind nginx.

    Raises BadInput before doing anything when the project or the machine cannot be checked.
    """
    run = CheckRun(project, nginx, keep, progress or Progress())
    try:
        return run.run()
    except BaseException:
        run.cleanup()
        raise
