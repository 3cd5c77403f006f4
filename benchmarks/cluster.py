"""Benchmark: requests per second through nginx with 1, 2 and 3 app machines, and the failed
requests of the failover and rolling-release rehearsals, in one run.

One Flask + PostgreSQL project is deployed by its deploy/ansible/site.yml onto three app
machines, a proxy and a database machine, exactly as `scaffold check --systemd --app-hosts 3`
does. Each app machine gets its own share of the cores (a CPU cgroup capped at --share of one
core), so that the app, not this 2-core host, is what runs out. For each round and each N, in
turn, the proxy's nginx is given the first N app machines (deploy/install.sh --role proxy), and
wrk, on this host inside the machines' network namespace, loads https://DOMAIN/healthz through
nginx. Then the rehearsal's failover, rejoin and rolling release run under load.

Needs root, debootstrap, systemd-container, ansible-core and wrk (apt-get install -y wrk).

    python benchmarks/cluster.py [--rounds 3] [--seconds 8] [--share 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import prepare_bytecode  # noqa: E402

from scaffold.check.cluster import APP_PORT, Cluster, preflight_cluster  # noqa: E402
from scaffold.check.report import Progress  # noqa: E402
from scaffold.check.workspace import Workspace, work_root  # noqa: E402
from scaffold.machine import Machine  # noqa: E402

CPU_CGROUPS = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000


def cap(machine: Machine, name: str, share: float) -> Path:
    """Every process of the machine into a CPU cgroup of its own, capped at share of a core;
    what they fork later stays in it."""
    group = CPU_CGROUPS / f"scaffold-bench-{os.getpid()}-{name}"
    if not group.is_dir():
        group.mkdir()
    (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (group / "cpu.cfs_quota_us").write_text(str(int(share * PERIOD_US)))
    assert machine.leader is not None
    namespace = os.readlink(f"/proc/{machine.leader}/ns/pid")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns/pid") == namespace:
                    (group / "cgroup.procs").write_text(entry.name)
            except OSError:
                continue  # gone meanwhile
    return group


def wrk(cluster: Cluster, seconds: float, strict: bool = True) -> float:
    """Requests per second through the proxy's nginx, from this host; with strict, a failed
    request ends the benchmark."""
    network = cluster.network
    url = f"https://{cluster.target.domain}{cluster.target.framework.health_path}"
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            network.name,
            "wrk",
            "-t1",
            "-c32",
            f"-d{max(1, round(seconds))}s",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if strict and ("Non-2xx" in done.stdout or "Socket errors" in done.stdout):
        raise SystemExit(f"wrk saw failures:\n{done.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    assert match, done.stdout
    return float(match.group(1))


def upstream(cluster: Cluster, count: int) -> None:
    """The proxy's nginx in front of the first `count` app machines, as the playbook does."""
    servers = [f"--upstream={host.address}:{APP_PORT}" for host in cluster.apps[:count]]
    cluster.proxy.machine.run(
        "deploy/install.sh",
        "--role",
        "proxy",
        "--wheelhouse",
        "/wheelhouse",
        *servers,
        cwd=f"/srv/{cluster.target.package}",
        timeout=300,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--share", type=float, default=0.3, help="of one core, per app machine")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks/cluster.py needs wrk: apt-get install -y wrk")
    print(prepare_bytecode(sys.executable))
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    groups: list[Path] = []
    workspace = Workspace(work_root(), keep=False)
    try:
        project = workdir / "shop"
        new = [sys.executable, "-m", "scaffold", "new", str(project), "-f", "flask"]
        data = ["--defaults", "--data", "database=postgresql"]
        subprocess.run([*new, *data], check=True, capture_output=True)
        target, release = preflight_cluster(project, 3)
        cluster = Cluster(target, release, workspace, Progress(), 3)
        for stage in (cluster.build_wheelhouse, cluster.boot, lambda: cluster.deploy("deploy")):
            print(stage())
        hosts_file = Path("/etc/netns") / cluster.network.name / "hosts"
        hosts_file.parent.mkdir(parents=True, exist_ok=True)
        hosts_file.write_text(f"127.0.0.1 localhost\n{cluster.proxy.address} {target.domain}\n")
        workspace.on_close(lambda: shutil.rmtree(hosts_file.parent, ignore_errors=True))
        groups = [cap(host.machine, host.name, options.share) for host in cluster.apps]
        rates: dict[int, list[float]] = {1: [], 2: [], 3: []}
        for _ in range(options.rounds):
            for count in rates:
                upstream(cluster, count)
                # Warm: nginx's old workers gone, its new ones connected to the app machines.
                time.sleep(1.0)
                wrk(cluster, 2.0, strict=False)
                rates[count].append(wrk(cluster, options.seconds))
        upstream(cluster, 3)
        one = statistics.median(rates[1])
        print(f"\nrequests/s through nginx, app machines capped at {options.share} core each:")
        for count, samples in rates.items():
            median = statistics.median(samples)
            shown = ", ".join(f"{rate:.0f}" for rate in samples)
            print(f"  {count} app machine(s): median {median:.0f}/s ({shown}); {median / one:.2f}x")
        print(cluster.failover())
        print(cluster.rejoin())
        print(cluster.deploy("rolling"))
        print(json.dumps(cluster.figures))
    finally:
        workspace.close()
        for group in groups:
            group.rmdir()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
