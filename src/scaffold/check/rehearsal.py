"""`scaffold check --systemd`: deploy the project into a throwaway Debian machine with systemd as
PID 1, the way deploy/README.md tells a user to, and probe it there through nginx on 443.

The machine boots an overlay of a cached root filesystem (`scaffold.machine`) with no network;
the project's tracked files are copied to /srv/<package> as a clone would put them, the
wheelhouse (`wheelhouse`) is bound read-only at /wheelhouse, and `deploy/install.sh
--wheelhouse /wheelhouse --self-signed` runs unchanged. The probes (`machine_probes`) run inside
with the machine's own curl, openssl and systemctl. Everything is removed at the end, Ctrl-C
included, unless --keep leaves the machine running.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scaffold.check.machine_probes import Probes
from scaffold.check.preflight import Target, preflight
from scaffold.check.report import CheckReport, Progress, StageFailed, StageResult
from scaffold.check.wheelhouse import Wheelhouse, require_tools, requirements_of
from scaffold.check.workspace import Workspace, work_root
from scaffold.errors import BadInput, OperationFailed
from scaffold.machine import Bind, Machine, interrupts_deferred
from scaffold.rootfs import RootFilesystem, python_of, release_for, require_host
from scaffold.subprocesses import run_logged, tail_lines

REHEARSAL_STAGES = (
    "wheelhouse",
    "machine",
    "services",
    "install",
    "site",
    "tls",
    "service",
    "restart",
    "reload",
    "redeploy",
    "journal",
)
# Each needs the one before; the probes after them are independent of each other.
CHAIN = ("wheelhouse", "machine", "services", "install")
INSTALL_TIMEOUT = 600
# How long /healthz may take to answer through nginx after install.sh: nginx's reload returns
# before the new site listens, and new workers may still be booting. Each curl gives up after
# 10 s, so 30 s is three tries, not one.
SERVICE_READY_WAIT = 30.0
# How install.sh's own lines say what it did to the service.
SERVICE_STEPS = ("starting", "reloading", "restarting", "the units changed")
WHEELHOUSE = "/wheelhouse"


def tracked_files(project: Path) -> list[tuple[str, str]]:
    """(git mode, path) of every file git tracks, as a clone would check it out."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(project), "ls-files", "-z", "--stage"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError as error:
        raise BadInput(
            "the systemd rehearsal deploys the project's tracked files and needs git",
            "install it: apt-get install -y git",
        ) from error
    if listed.returncode != 0:
        raise BadInput(
            f"{project} is not a git repository: the rehearsal deploys what a clone would give",
            "commit the project first: git init && git add -A && git commit -m 'First version'",
        )
    files = []
    for entry in listed.stdout.split("\0"):
        if entry:
            meta, _, path = entry.partition("\t")
            files.append((meta.split()[0], path))
    return files


def copy_tracked(project: Path, files: list[tuple[str, str]], dest: Path) -> int:
    """Copy the tracked files (their working-tree content) with the modes a clone gives them."""
    copied = 0
    for mode, path in files:
        source, target = project / path, dest / path
        if mode == "160000" or not os.path.lexists(source):  # a submodule, or deleted
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            target.symlink_to(os.readlink(source))
        else:
            target.write_bytes(source.read_bytes())
            target.chmod(0o755 if mode == "100755" else 0o644)
        copied += 1
    return copied


class NothingToDo(Exception):
    """A stage that does not apply to this project; the message says why."""


class StagedRun:
    """Stages run in order, each timed, its result recorded; a failure in the chain (the
    stages the others need) skips the rest."""

    stages: tuple[str, ...] = ()
    chain: tuple[str, ...] = ()

    def __init__(self, target: Target, release: str, workspace: Workspace, progress: Progress):
        self.target = target
        self.release = release
        self.workspace = workspace
        self.progress = progress
        self.results = [StageResult(name) for name in self.stages]
        self.wheelhouse = Wheelhouse(requirements_of(target.project), python_of(release))

    def log(self, stage: str) -> Path:
        return self.workspace.log(stage)

    def _step(self, name: str, body: Callable[[], str]) -> None:
        """Run a stage unless a stage of the chain failed; time it, record what it found."""
        result = self.results[self.stages.index(name)]
        failed = next(
            (r for r in self.results if r.status == "failed" and r.name in self.chain), None
        )
        if failed is not None:
            result.message = f"skipped: {failed.name} failed"
            self.progress.finished(result)
            return
        self.progress.started(name)
        started = time.monotonic()
        try:
            result.message = body()
            result.status = "passed"
        except NothingToDo as reason:
            result.message = f"skipped: {reason}"
        except (StageFailed, OperationFailed) as error:
            result.status, result.message = "failed", error.message
            log = error.log if isinstance(error, StageFailed) else None
            result.log = tail_lines(log or self.log(name))
        except OSError as error:
            raise self.workspace.refused(error, name) from error
        finally:
            result.seconds = time.monotonic() - started
        self.progress.finished(result)

    def build_wheelhouse(self) -> str:
        built = self.wheelhouse.ensure(self.log("wheelhouse"))
        count = len(list(self.wheelhouse.path.glob("*.whl")))
        how = "downloaded" if built else "cached"
        return f"{count} wheels for Python {self.wheelhouse.python} ({how}) at {WHEELHOUSE}"


class Rehearsal(StagedRun):
    """The stages of one rehearsal, in order, with their results."""

    stages = REHEARSAL_STAGES
    chain = CHAIN

    def __init__(self, target: Target, release: str, workspace: Workspace, progress: Progress):
        super().__init__(target, release, workspace, progress)
        self.machine = Machine(
            RootFilesystem(release),
            workspace.path / "machine",
            [Bind(self.wheelhouse.path, WHEELHOUSE)],
        )
        self.probes = Probes(self.machine, target)

    def run(self) -> list[StageResult]:
        self._step("wheelhouse", self.build_wheelhouse)
        self._step("machine", self.boot)
        self._step("services", self.set_up_services)
        self._step("install", lambda: self.install("install"))
        self._step("site", self.probes.site)
        self._step("tls", self.probes.tls)
        self._step("service", self.probes.service)
        self._step("restart", self.probes.restart)
        self._step("reload", self.probes.reload)
        self._step("redeploy", lambda: self.install("redeploy"))
        self._step("journal", self.probes.journal)
        return self.results

    def boot(self) -> str:
        rootfs = self.machine.rootfs
        started = time.monotonic()
        built = rootfs.ensure(self.log("machine"))
        package = self.target.package
        files = tracked_files(self.target.project)
        copied = copy_tracked(self.target.project, files, self.machine.stage(f"/srv/{package}"))
        self.workspace.on_close(self.machine.stop)
        booted = time.monotonic()
        self.machine.start()
        cache = f"root filesystem built in {booted - started:.0f}s" if built else "cached"
        return (
            f"Debian {self.release} ({cache}) booted in {time.monotonic() - booted:.1f}s; "
            f"{copied} tracked files in /srv/{package}"
        )

    def set_up_services(self) -> str:
        """What deploy/README.md has the user set up before install.sh (PostgreSQL, say)."""
        framework, answers = self.target.framework, self.target.answers
        setups = framework.setup_for(answers)
        if not setups:
            raise NothingToDo("nothing to set up before install.sh")
        done = []
        for setup in setups:
            missing = set(setup.packages) - set(self.machine.rootfs.packages)
            if missing:
                raise StageFailed(f"the machine image lacks {', '.join(sorted(missing))}")
            for service in setup.services:
                self.machine.run("systemctl", "unmask", "--quiet", service)  # masked in the image
                self.machine.run("systemctl", "start", service, timeout=60)
                done.append(f"{service} started")
            for command in setup.commands_for(answers):
                self.machine.run("sh", "-c", command, timeout=60)
                done.append(command)
        return "; ".join(done)

    def install(self, stage: str) -> str:
        """deploy/install.sh as the README runs it, from the checkout, as root."""
        package = self.target.package
        command = ["deploy/install.sh", "--wheelhouse", WHEELHOUSE, "--self-signed"]
        steps: list[str] = []

        def show(line: str) -> None:
            if line.startswith("==> "):
                steps.append(line[4:])
            self.progress.output(line)

        try:
            run_logged(
                self.machine.command(*command, cwd=f"/srv/{package}"),
                cwd=self.workspace.path,
                env=dict(os.environ),
                log=self.log(stage),
                timeout=INSTALL_TIMEOUT,
                on_line=show,
                label=" ".join(command),
            )
        except OperationFailed as error:  # the service's own words belong in the log's tail
            journal = self.machine.run(
                "journalctl",
                "--unit",
                f"{package}.service",
                "--no-pager",
                "--lines",
                "8",
                check=False,
            )
            with self.log(stage).open("a", encoding="utf-8") as log:
                log.write(f"$ journalctl -u {package}.service\n{journal.stdout}")
            raise StageFailed(error.message, self.log(stage)) from None
        health = self.target.framework.health_path
        status = self.probes.healthz(wait=SERVICE_READY_WAIT)
        if status != 200:
            raise StageFailed(f"after install.sh, {health} answered {status}", self.log(stage))
        if stage == "install":
            self.progress.milestone("first 200 through nginx")
        service = next((step.split(":")[0] for step in steps if step.startswith(SERVICE_STEPS)), "")
        return f"{' '.join(command)}: {len(steps)} steps ({service}); {health} 200"


def preflight_rehearsal(project: Path) -> tuple[Target, str]:
    """The project, the host and the release, checked before anything exists."""
    target = preflight(project, nginx=False)
    release = release_for(str(target.answers["python_version"]))
    require_host()
    require_tools(python_of(release))
    tracked_files(target.project)
    return target, release


def run_rehearsal(
    project: Path, *, keep: bool = False, progress: Progress | None = None
) -> CheckReport:
    """Deploy the project at `project` into a throwaway systemd machine and probe it.

    Raises BadInput before doing anything when the project or this host cannot rehearse.
    With keep, the machine stays running; the report says how to enter and stop it.
    """
    target, release = preflight_rehearsal(project)
    started = time.monotonic()
    workspace = Workspace(work_root(), keep)
    try:
        rehearsal = Rehearsal(target, release, workspace, progress or Progress())
        results = rehearsal.run()
        machine: dict[str, Any] = {"release": release, "python": python_of(release)}
        if keep and rehearsal.machine.leader is not None:
            stop = rehearsal.machine.keep(remove=workspace.path)
            machine |= {
                "enter": f"nsenter -t {rehearsal.machine.leader} -a bash",
                "stop": f"sh {stop}",
            }
    finally:
        with interrupts_deferred():  # the machine gone and its mounts, whatever comes
            workspace.close()
    return CheckReport(
        target.project,
        target.framework.name,
        results,
        workspace.path if keep else None,
        time.monotonic() - started,
        machine=machine,
    )
