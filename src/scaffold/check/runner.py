"""The order of a check run: each stage timed, passed or failed; after a failure of the serving
chain the rest are skipped. The project's tests run in the background from install to the end
of the nginx stage: serving does not depend on them, and they are the longest stage."""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from scaffold.check import database, serving, stages
from scaffold.check.preflight import preflight
from scaffold.check.report import STAGES, CheckReport, Progress, StageFailed, StageResult
from scaffold.check.workspace import CheckContext, Workspace, work_root
from scaffold.errors import OperationFailed
from scaffold.subprocesses import tail_lines
from scaffold.venv import ProjectVenv, find_uv

TESTS_TIMEOUT = 600
FULL_DISK = 64 * 1024 * 1024  # below this much free space, a "No space left" failure was ours
T = TypeVar("T")


class CheckRun:
    """The stages of one check, in order, with their results."""

    def __init__(self, context: CheckContext, tests_alongside: bool) -> None:
        self.context = context
        self.progress = context.progress
        self.tests_alongside = tests_alongside  # False: one stage after another (a benchmark)
        self.results = [StageResult(name) for name in STAGES]

    def run(self) -> list[StageResult]:
        ctx = self.context
        self._step("venv", lambda: stages.make_venv(ctx))
        self._step("install", lambda: stages.install_project(ctx))
        # The project's tests may use the database the prepare steps migrate (Django's own
        # conftest migrates it too): two migrations at once collide, so prepare goes first.
        prepare_first = bool(ctx.target.framework.prepare_for(ctx.target.answers))
        if prepare_first:
            self._step("checks", lambda: stages.framework_checks(ctx))
        tests = self._start_tests()
        if not self.tests_alongside:
            self._finish_tests(tests)
        if not prepare_first:
            self._step("checks", lambda: stages.framework_checks(ctx))
        served = self._carry("server", lambda: serving.start_server(ctx))
        if served is not None and ctx.target.nginx is not None:
            behind = served
            served = self._carry("nginx", lambda: serving.front_with_nginx(ctx, behind))
        else:
            self._skip("nginx", "--no-nginx" if served is not None else "")
        if self.tests_alongside:
            self._finish_tests(tests)
        if served is not None:
            final = served
            self._step("shutdown", lambda: serving.shut_down(ctx, final))
        else:
            self._skip("shutdown")
        return self.results

    def result(self, name: str) -> StageResult:
        return self.results[STAGES.index(name)]

    def _chain_failure(self) -> StageResult | None:
        """The failed stage the next serving stages depend on (all but the tests)."""
        return next((r for r in self.results if r.status == "failed" and r.name != "tests"), None)

    def _skip(self, name: str, reason: str = "") -> None:
        """Mark a stage skipped: for reason, else because a stage it depends on failed."""
        if not reason:
            failed = self._chain_failure()
            reason = f"{failed.name if failed else 'install'} failed"
        result = self.result(name)
        result.message = f"skipped: {reason}"
        self.progress.finished(result)

    def _step(self, name: str, body: Callable[[], str]) -> None:
        self._carry(name, lambda: (body(), None))

    def _carry(self, name: str, body: Callable[[], tuple[str, T]]) -> T | None:
        """Run a stage and return what it hands on, or None when it failed or was skipped
        (cleanup still stops whatever it started, just without judging how)."""
        if self._chain_failure() is not None:
            self._skip(name)
            return None
        result = self.result(name)
        self.progress.started(name)
        started = time.monotonic()
        value = None
        try:
            result.message, value = body()
            result.status = "passed"
        except (StageFailed, OperationFailed) as error:
            self._fail(result, error)
        except OSError as error:  # the machine said no (a full disk, say): one line, no report
            raise self.context.workspace.refused(error, name) from error
        finally:
            result.seconds = time.monotonic() - started
        self.progress.finished(result)
        return value

    def _fail(self, result: StageResult, error: StageFailed | OperationFailed) -> None:
        result.status = "failed"
        result.message = error.message
        log = error.log if isinstance(error, StageFailed) else None
        result.log = tail_lines(log or self.context.log(result.name))
        root = self.context.workspace.root
        if any(os.strerror(errno.ENOSPC) in line for line in result.log) and (
            shutil.disk_usage(root).free < FULL_DISK
        ):
            result.message += (
                f" (no space left in TMPDIR {root}: free some space there, "
                "or point TMPDIR at a larger file system)"
            )

    def _start_tests(self) -> stages.ProjectTests | None:
        if self._chain_failure() is not None:  # venv or install failed
            return None
        self.progress.started("tests")
        try:
            return stages.start_tests(self.context)
        except OSError as error:
            raise self.context.workspace.refused(error, "tests") from error

    def _finish_tests(self, tests: stages.ProjectTests | None) -> None:
        result = self.result("tests")
        if tests is None:
            self._skip("tests")
            return
        try:
            result.message = tests.wait(TESTS_TIMEOUT)
            result.status = "passed"
        except OperationFailed as error:
            self._fail(result, error)
        result.seconds = tests.seconds
        self.progress.finished(result)


def run_check(
    project: Path,
    *,
    nginx: bool = True,
    keep: bool = False,
    progress: Progress | None = None,
    tests_alongside: bool = True,
) -> CheckReport:
    """Check that the project at `project` installs, passes its tests and boots behind nginx.

    Raises BadInput before doing anything when the project or the machine cannot be checked,
    and SystemRefused (after removing everything it made) when the machine refuses a file
    operation. `tests_alongside=False` runs the project's tests before the serving stages.
    """
    target = preflight(project, nginx=nginx)
    database.require_server(target)
    started = time.monotonic()
    with Workspace(work_root(), keep) as workspace:
        venv = ProjectVenv(workspace.path / "venv", target.project, find_uv())
        if database.needs_cluster(target):
            try:
                cluster = database.Cluster(workspace.root)
                workspace.on_close(cluster.stop)
                workspace.logs.mkdir(parents=True, exist_ok=True)
                cluster.start(workspace.log("database"))
            except OSError as error:
                raise workspace.refused(error, "database") from error
            venv.pinned["DATABASE_URL"] = cluster.url
        context = CheckContext(target, workspace, venv, progress or Progress())
        results = CheckRun(context, tests_alongside).run()
    return CheckReport(
        target.project,
        target.framework.name,
        results,
        workspace.path if keep else None,
        time.monotonic() - started,
    )
