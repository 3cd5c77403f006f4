"""`scaffold check --systemd --app-hosts N`: the project on N app machines, a proxy and a database
machine, deployed by its own deploy/ansible/site.yml, and tried the way production fails.

The machines boot like the one-machine rehearsal's (`scaffold.machine`), each on a bridge of a
network namespace made for the run (`scaffold.network`), with no route out. ansible-playbook
runs on this host inside that namespace and reaches each machine by SSH, with a key made for
the run. Then, under a bounded load through the proxy's nginx (the `Load` of
`machine_probes`): one app machine loses its power (nginx fails over), it boots again (and
rejoins), and the playbook runs again (a rolling release). The figures go into the report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.check.machine_probes import Load, Probes
from scaffold.check.preflight import Target
from scaffold.check.rehearsal import (
    WHEELHOUSE,
    StagedRun,
    copy_tracked,
    preflight_rehearsal,
    tracked_files,
)
from scaffold.check.report import CheckReport, Progress, StageFailed, StageResult
from scaffold.check.workspace import Workspace, work_root
from scaffold.errors import BadInput, OperationFailed
from scaffold.machine import Bind, Machine, interrupts_deferred
from scaffold.network import PrivateNetwork
from scaffold.rootfs import CLUSTER_PACKAGES, RootFilesystem, python_of
from scaffold.subprocesses import run_logged

CLUSTER_STAGES = (
    "wheelhouse",
    "machines",
    "deploy",
    "spread",
    "failover",
    "rejoin",
    "rolling",
    "restarts",
)
CHAIN = ("wheelhouse", "machines", "deploy")
MAX_APP_HOSTS = 5
PLAYBOOK_TIMEOUT = 900
APP_PORT = 8000  # deploy/ansible/group_vars/all.yml
# The failover: requests under load before the power goes, and after; failures allowed only
# while nginx first finds the machine gone, each retried request waiting out one connect.
LOAD_BEFORE = 2.0
FAILOVER_SECONDS = 15.0
FAILOVER_GRACE = 5.0
MAX_FAILED_SHARE = 0.001
# The rejoined machine waits out nginx's fail_timeout (10 s) before it gets requests again.
REJOIN_TIMEOUT = 90.0
REJOIN_LOAD_SECONDS = 14.0
LOAD_REQUESTS = 1_000_000  # bounded by time instead


@dataclass
class Host:
    name: str
    group: str
    address: str
    machine: Machine


def ansible_playbook() -> str:
    """ansible-playbook beside this Python (scaffold's own venv), else on PATH; or refuse."""
    beside = Path(sys.executable).with_name("ansible-playbook")
    found = str(beside) if beside.is_file() else shutil.which("ansible-playbook")
    if found is None:
        raise BadInput(
            "--app-hosts deploys with the project's Ansible playbook and needs ansible-playbook",
            "install it: pip install ansible-core",
        )
    return found


class Cluster(StagedRun):
    stages = CLUSTER_STAGES
    chain = CHAIN

    def __init__(
        self,
        target: Target,
        release: str,
        workspace: Workspace,
        progress: Progress,
        app_hosts: int,
    ) -> None:
        super().__init__(target, release, workspace, progress)
        self.network = PrivateNetwork()
        rootfs = RootFilesystem(release, CLUSTER_PACKAGES)
        binds = [Bind(self.wheelhouse.path, WHEELHOUSE)]
        layout = [("proxy", "proxy", 10), ("database", "database", 20)]
        layout += [(f"app{n}", "app", 10 + n) for n in range(1, app_hosts + 1)]
        self.hosts = [
            Host(
                name,
                group,
                self.network.address(number),
                Machine(rootfs, workspace.path / name, binds, network=self.network),
            )
            for name, group, number in layout
        ]
        self.proxy = self.hosts[0]
        self.apps = [host for host in self.hosts if host.group == "app"]
        self.probes = Probes(self.proxy.machine, target)
        self.key = workspace.path / "ssh" / "id_ed25519"
        self.figures: dict[str, Any] = {"app_hosts": app_hosts}

    def run(self) -> list[StageResult]:
        self._step("wheelhouse", self.build_wheelhouse)
        self._step("machines", self.boot)
        self._step("deploy", lambda: self.deploy("deploy"))
        self._step("spread", self.spread)
        self._step("failover", self.failover)
        self._step("rejoin", self.rejoin)
        self._step("rolling", lambda: self.deploy("rolling"))
        self._step("restarts", self.restarts)
        return self.results

    # -- the machines ---------------------------------------------------------------------------

    def boot(self) -> str:
        started = time.monotonic()
        built = self.proxy.machine.rootfs.ensure(self.log("machines"))
        self.key.parent.mkdir(mode=0o700)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)],
            check=True,
            capture_output=True,
            timeout=30,
        )
        public_key = self.key.with_suffix(".pub").read_bytes()
        self.network.create()
        self.workspace.on_close(self.network.close)
        booted = time.monotonic()
        for host in self.hosts:
            ssh = host.machine.stage("/root/.ssh")
            ssh.chmod(0o700)
            (ssh / "authorized_keys").write_bytes(public_key)
            etc = host.machine.stage("/etc")
            (etc / "hostname").write_text(f"{host.name}\n")
            (etc / "hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {host.name}\n")
            self.workspace.on_close(host.machine.stop)
            self._start(host)
            host.machine.run("systemctl", "unmask", "--quiet", "ssh.service")
            host.machine.run("systemctl", "start", "ssh.service")
        cache = f"root filesystem built in {booted - started:.0f}s" if built else "cached"
        return (
            f"{len(self.hosts)} machines ({cache}) booted in {time.monotonic() - booted:.1f}s on "
            f"{self.network.bridge} of network namespace {self.network.name}: "
            + ", ".join(f"{host.name} {host.address}" for host in self.hosts)
        )

    def _start(self, host: Host) -> None:
        """Boot the machine and give it its address (not kept across boots: set here)."""
        host.machine.start()
        host.machine.run("ip", "address", "add", f"{host.address}/24", "dev", "host0")
        host.machine.run("ip", "link", "set", "host0", "up")

    # -- the playbook -----------------------------------------------------------------------------

    def deploy(self, stage: str) -> str:
        """deploy/ansible/site.yml as deploy/README.md runs it, from this host; under load
        through the proxy when it is a release onto machines already serving."""
        first = stage == "deploy"
        if first:
            self._write_release()
        load = None if first else self._load()
        started = time.monotonic()
        try:
            self._playbook(stage)
        finally:
            counts = load.stop() if load else None
        took = time.monotonic() - started
        log = self.log(stage).read_text(encoding="utf-8", errors="replace")
        migrate = self.target.framework.migrate_for(self.target.answers)
        # Each task's result is in the log as JSON, its stdout once with escaped newlines (and
        # again as stdout_lines); install.sh prints another step before the migrations.
        migrations = log.count("\\n==> running " + " ".join(migrate[0])) if migrate else 0
        if migrate and migrations != 1:
            raise StageFailed(f"the migrations ran {migrations} times in one release, not once")
        once = "migrations on one machine; " if migrate else ""
        if first:
            status = self.probes.healthz(wait=30.0)
            if status != 200:
                raise StageFailed(f"after the playbook, /healthz through nginx answered {status}")
            self.progress.milestone("first 200 through the proxy")
            return f"ansible-playbook site.yml in {took:.0f}s: {once}/healthz 200 through nginx"
        assert counts is not None
        total = counts["ok"] + counts["failed"]
        self.figures["rolling"] = {"requests": total, "failed": counts["failed"]}
        if counts["failed"] or not counts["ok"]:
            raise StageFailed(
                f"{counts['failed']} of {total} requests failed during the rolling release: "
                + "; ".join(counts["errors"])
            )
        return (
            f"ansible-playbook site.yml again, one app machine at a time, in {took:.0f}s: "
            f"{once}{total} requests, none failed"
        )

    def _write_release(self) -> None:
        """The archive the playbook unpacks on each machine: the tracked files as a clone
        has them (the one-machine rehearsal copies the same)."""
        tree = self.workspace.path / "release"
        copy_tracked(self.target.project, tracked_files(self.target.project), tree)
        with tarfile.open(self.workspace.path / "release.tar.gz", "w:gz") as archive:
            for path in sorted(tree.iterdir()):
                archive.add(path, arcname=path.name)
        shutil.rmtree(tree)
        hosts = {group: [h for h in self.hosts if h.group == group] for group in ("proxy", "app")}
        hosts["database"] = [h for h in self.hosts if h.group == "database"]
        lines = []
        for group, members in hosts.items():
            lines.append(f"[{group}]")
            lines += [
                f"{h.name} ansible_host={h.address} private_address={h.address}" for h in members
            ]
            lines.append("")
        key = self.key
        lines += [
            "[all:vars]",
            "ansible_user=root",
            f"ansible_ssh_private_key_file={key}",
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
            "ansible_python_interpreter=/usr/bin/python3",
        ]
        (self.workspace.path / "inventory.ini").write_text("\n".join(lines) + "\n")

    def _playbook(self, stage: str) -> None:
        extra = {
            "build_release": False,
            "release_archive": str(self.workspace.path / "release.tar.gz"),
            "secrets_dir": str(self.workspace.path / "secrets"),
            "wheelhouse": WHEELHOUSE,
            "self_signed": True,
        }
        command = [
            *self.network.enter(),
            ansible_playbook(),
            "-v",
            "-i",
            str(self.workspace.path / "inventory.ini"),
            "--extra-vars",
            json.dumps(extra),
            str(self.target.project / "deploy" / "ansible" / "site.yml"),
        ]
        env = {
            **os.environ,
            "ANSIBLE_HOME": str(self.workspace.path / "ansible"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORKS": "10",
            "ANSIBLE_PIPELINING": "1",
            # No SSH connection outlives the run (a master would wait on a machine now gone).
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=no",
        }

        def show(line: str) -> None:
            if line.startswith(("PLAY [", "TASK [")):
                self.progress.output(line.rstrip(" *"))

        try:
            run_logged(
                command,
                cwd=self.target.project,
                env=env,
                log=self.log(stage),
                timeout=PLAYBOOK_TIMEOUT,
                on_line=show,
                label="ansible-playbook deploy/ansible/site.yml",
            )
        except OperationFailed as error:
            raise StageFailed(error.message, self.log(stage)) from None

    # -- under load -------------------------------------------------------------------------------

    def _load(self, seconds: float = PLAYBOOK_TIMEOUT) -> Load:
        return Load(
            self.proxy.machine,
            self.target.domain,
            self.target.framework.health_path,
            requests=LOAD_REQUESTS,
            seconds=seconds,
        )

    def _served(self, host: Host) -> int:
        """Requests the app machine's server logged since it booted."""
        journal = host.machine.run(
            "journalctl", "--boot", "--unit", f"{self.target.package}.service", "--output", "cat"
        ).stdout
        return journal.count(f"GET {self.target.framework.health_path}")

    def spread(self) -> str:
        """nginx sends requests to every app machine."""
        before = [self._served(host) for host in self.apps]
        load = self._load()
        time.sleep(3.0)
        counts = load.stop()
        served = [self._served(host) - old for host, old in zip(self.apps, before, strict=True)]
        idle = [host.name for host, count in zip(self.apps, served, strict=True) if count == 0]
        if idle or counts["failed"]:
            raise StageFailed(
                f"{counts['failed']} of {counts['ok'] + counts['failed']} requests failed; "
                f"no request reached {', '.join(idle) or 'nothing'}"
            )
        shares = ", ".join(f"{h.name} {n}" for h, n in zip(self.apps, served, strict=True))
        return f"{counts['ok']} requests through nginx, spread over the app machines: {shares}"

    def failover(self) -> str:
        """One app machine loses its power under load: at most a few requests fail while nginx
        finds out, none after."""
        lost = self.apps[-1]
        load = self._load()
        try:
            time.sleep(LOAD_BEFORE)
            cut = time.monotonic()
            lost.machine.power_off()
            time.sleep(FAILOVER_SECONDS)
        finally:
            counts = load.stop()
        total = counts["ok"] + counts["failed"]
        late = [at for at in counts["failed_at"] if at > cut + FAILOVER_GRACE]
        self.figures["failover"] = {
            "requests": total,
            "failed": counts["failed"],
            "failed_after_failover": len(late),
            "grace_seconds": FAILOVER_GRACE,
        }
        if not total or counts["failed"] > MAX_FAILED_SHARE * total or late:
            raise StageFailed(
                f"{counts['failed']} of {total} requests failed after {lost.name} lost its power, "
                f"{len(late)} of them more than {FAILOVER_GRACE:.0f}s after: "
                + "; ".join(counts["errors"])
            )
        return (
            f"{lost.name} powered off under load: {counts['failed']} of {total} requests "
            f"failed, none after {FAILOVER_GRACE:.0f}s"
        )

    def rejoin(self) -> str:
        """The lost machine boots again, and nginx sends it requests again."""
        lost = self.apps[-1]
        started = time.monotonic()
        self._boot_until_answering(lost)
        answering = time.monotonic() - started
        load = self._load()
        time.sleep(REJOIN_LOAD_SECONDS)
        counts = load.stop()
        served = self._served(lost)
        self.figures["rejoin"] = {"answering_seconds": round(answering, 1), "served": served}
        if counts["failed"] or not served:
            raise StageFailed(
                f"after {lost.name} booted again: {counts['failed']} requests failed, "
                f"{served} reached it"
            )
        return (
            f"{lost.name} booted and answered the proxy in {answering:.1f}s; nginx sent it "
            f"{served} of {counts['ok']} requests"
        )

    def restarts(self) -> str:
        """Every app machine shut down and booted again, one at a time, under load (an
        operator's kernel update): nginx sends the requests to the others meanwhile."""
        load = self._load()
        started = time.monotonic()
        try:
            for host in self.apps:
                host.machine.power_off(graceful=True)
                self._boot_until_answering(host)
                # nginx takes a machine back fail_timeout (10 s) after its last failed attempt.
                time.sleep(REJOIN_LOAD_SECONDS)
        finally:
            counts = load.stop()
        took = time.monotonic() - started
        total = counts["ok"] + counts["failed"]
        self.figures["restarts"] = {"requests": total, "failed": counts["failed"]}
        if counts["failed"] or not counts["ok"]:
            raise StageFailed(
                f"{counts['failed']} of {total} requests failed while the app machines "
                "restarted one at a time: " + "; ".join(counts["errors"])
            )
        return (
            f"{len(self.apps)} app machines shut down and booted again one at a time in "
            f"{took:.0f}s: {total} requests, none failed"
        )

    def _boot_until_answering(self, host: Host) -> None:
        started = time.monotonic()
        self._start(host)
        url = f"http://{host.address}:{APP_PORT}{self.target.framework.health_path}"
        while self._status_from_proxy(url) != 200:
            if time.monotonic() - started > REJOIN_TIMEOUT:
                raise StageFailed(
                    f"{host.name} did not answer {url} {REJOIN_TIMEOUT:.0f}s after booting"
                )
            time.sleep(0.5)

    def _status_from_proxy(self, url: str) -> int:
        result = self.proxy.machine.run(
            "curl",
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
            "--max-time",
            "5",
            "--header",
            f"Host: {self.target.domain}",
            "--header",
            "X-Forwarded-Proto: https",
            url,
            check=False,
        )
        return int(result.stdout or 0)


def preflight_cluster(project: Path, app_hosts: int) -> tuple[Target, str]:
    if not 2 <= app_hosts <= MAX_APP_HOSTS:
        raise BadInput(
            f"--app-hosts {app_hosts} is out of range", f"choose 2 to {MAX_APP_HOSTS} app machines"
        )
    target, release = preflight_rehearsal(project)
    if not (target.project / "deploy" / "ansible" / "site.yml").is_file():
        database = target.answers.get("database")
        raise BadInput(
            f"{target.project.name} has no deploy/ansible/site.yml"
            + (": a SQLite database lives on one machine" if database == "sqlite" else ""),
            "answer database=postgresql (scaffold update --data database=postgresql)",
        )
    ansible_playbook()
    return target, release


def run_cluster_rehearsal(
    project: Path, app_hosts: int, *, keep: bool = False, progress: Progress | None = None
) -> CheckReport:
    """Deploy the project onto app_hosts app machines, a proxy and a database machine."""
    target, release = preflight_cluster(project, app_hosts)
    started = time.monotonic()
    workspace = Workspace(work_root(), keep)
    try:
        cluster = Cluster(target, release, workspace, progress or Progress(), app_hosts)
        results = cluster.run()
        machine: dict[str, Any] = {
            "release": release,
            "python": python_of(release),
            **cluster.figures,
        }
    finally:
        with interrupts_deferred():
            workspace.close()
    return CheckReport(
        target.project,
        target.framework.name,
        results,
        workspace.path if keep else None,
        time.monotonic() - started,
        machine=machine,
    )
