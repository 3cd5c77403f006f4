"""Probes of a deployed project from inside its rehearsal machine, with the machine's own curl,
openssl, ps and systemctl: what a visitor, a TLS scanner and an operator would see.

Each probe returns a one-line summary or raises StageFailed listing everything it found wrong.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scaffold import catalog
from scaffold.check.preflight import Target
from scaffold.check.report import StageFailed
from scaffold.errors import OperationFailed
from scaffold.machine import Machine

RESTART_TIMEOUT = 20.0
RELOAD_TIMEOUT = 30.0
LOAD_CLIENTS = 4
LOAD_MAX_REQUESTS = 5000
LOAD_MAX_SECONDS = 40
STOP_FILE = "/run/scaffold-load.stop"
# Keep-alive HTTPS clients on 127.0.0.1:443 with the site's name, until STOP_FILE appears or a
# bound is reached. Like browsers and urllib3, a client sends a GET again on a new connection
# when a kept-alive one turns out closed before any answer (nginx closes idle connections when
# it reloads); any other failure counts. Prints how many requests succeeded, how the others
# failed, and when (the monotonic clock, which the machine shares with the host).
LOAD_SCRIPT = """
import http.client, json, os, socket, ssl, sys, threading, time
domain, path, clients, limit, seconds, stop_file = sys.argv[1:7]
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
deadline, counts, errors, lock = time.monotonic() + float(seconds), [0, 0], [], threading.Lock()
failed_at = []

class Connection(http.client.HTTPSConnection):
    def connect(self):
        raw = socket.create_connection(("127.0.0.1", 443), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname=domain)

def client():
    connection = None
    while time.monotonic() < deadline and not os.path.exists(stop_file):
        with lock:
            if sum(counts) >= int(limit):
                return
        reused = connection is not None
        try:
            connection = connection or Connection(domain, 443, timeout=10)
            connection.request("GET", path, headers={"Host": domain})
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
            error = None if ok else f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as failure:
            ok, error, connection = False, repr(failure), None
            if reused and isinstance(failure, (ConnectionResetError, BrokenPipeError)):
                continue  # an idle kept-alive connection nginx closed: clients retry anew
        with lock:
            counts[0 if ok else 1] += 1
            if error and len(errors) < 5:
                errors.append(error)
            if error and len(failed_at) < 1000:
                failed_at.append(time.monotonic())

print("started", flush=True)
threads = [threading.Thread(target=client) for _ in range(int(clients))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"ok": counts[0], "failed": counts[1], "errors": errors, "failed_at": failed_at}))
"""


class Load:
    """LOAD_SCRIPT running in a machine against its own nginx, until stop() or its bounds."""

    def __init__(
        self,
        machine: Machine,
        domain: str,
        path: str,
        requests: int = LOAD_MAX_REQUESTS,
        seconds: float = LOAD_MAX_SECONDS,
    ) -> None:
        self.machine = machine
        self.seconds = seconds
        machine.run("rm", "-f", STOP_FILE)
        argv = [domain, path, str(LOAD_CLIENTS), str(requests), str(seconds), STOP_FILE]
        self.process = machine.spawn("python3", "-c", LOAD_SCRIPT, *argv)
        if self.process.stdout is None or self.process.stdout.readline().strip() != "started":
            self.process.kill()
            self.process.wait()
            raise StageFailed("the load generator did not start")

    def stop(self) -> dict[str, Any]:
        """{"ok", "failed", "errors" (the first few), "failed_at" (monotonic times)}."""
        try:
            self.machine.run("touch", STOP_FILE)
            out, _ = self.process.communicate(timeout=self.seconds + 10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        counts: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return counts


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; the last value of each
    body: str

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class Probes:
    """The probes of one deployed project in one machine."""

    def __init__(self, machine: Machine, target: Target) -> None:
        self.machine = machine
        self.target = target
        self.package = target.package
        self.domain = target.domain
        self.unit = f"{target.package}.service"
        self.server = catalog.server_of(target.framework)

    # -- requests, through nginx --------------------------------------------------------------

    def get(self, url: str, *options: str, output: str | None = None) -> Reply:
        """GET url with curl in the machine, the site's name resolving to 127.0.0.1; the body
        goes to the file output there instead, when given."""
        result = self.machine.run(
            "curl",
            "--silent",
            "--show-error",
            "--insecure",  # the certificate is the self-signed one install.sh made
            "--max-time",
            "10",
            "--resolve",
            f"{self.domain}:443:127.0.0.1",
            "--resolve",
            f"{self.domain}:80:127.0.0.1",
            *(("--dump-header", "-", "--output", output) if output else ("--include",)),
            *options,
            url,
            check=False,
        )
        if result.returncode != 0:
            raise OperationFailed(f"curl {url}: {result.stderr.strip() or result.returncode}")
        head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
        lines = head.splitlines()
        status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Reply(status, headers, body)

    def https(self, path: str) -> str:
        return f"https://{self.domain}{path}"

    def site(self) -> str:
        """/healthz, the home page, a static file and the HTTP -> HTTPS redirect."""
        problems: list[str] = []
        framework = self.target.framework
        health, home = framework.health_path, framework.home_path

        def probe(name: str, call: Callable[[], Reply]) -> Reply | None:
            try:
                return call()
            except OperationFailed as error:
                problems.append(f"{name}: {error.message}")
                return None

        reply = probe(health, lambda: self.get(self.https(health)))
        if reply and (reply.status != 200 or "json" not in reply.header("content-type")):
            problems.append(f"{health} answered {reply.status}, expected 200 JSON: {reply.body}")
        elif reply:
            try:
                json.loads(reply.body)
            except ValueError:
                problems.append(f"{health} is not JSON: {reply.body[:120]}")
        page = probe(home, lambda: self.get(self.https(home)))
        if page and page.status != 200:
            problems.append(f"home page {home} answered {page.status}, expected 200")
        if account := framework.account_probe(self.target.answers):
            path, status = account
            reply = probe(path, lambda: self.get(self.https(path)))
            if reply and reply.status != status:
                problems.append(f"accounts: {path} answered {reply.status}, expected {status}")
        problems += self._static()
        plain = probe("http", lambda: self.get(f"http://{self.domain}{health}?from=http"))
        expected = self.https(f"{health}?from=http")
        if plain and (plain.status != 308 or plain.header("location") != expected):
            problems.append(
                f"plain HTTP answered {plain.status} to {plain.header('location')!r}, "
                f"expected 308 to {expected}"
            )
        if problems:
            raise StageFailed("; ".join(problems))
        return f"https://{self.domain} on 443: {health} 200 JSON, home 200, static file, 308"

    def _static(self) -> list[str]:
        """nginx serves the file from the checkout (collected where the framework collects)."""
        framework, answers = self.target.framework, self.target.answers
        probe = framework.static_probe
        on_disk = f"/srv/{self.package}/{framework.fill(framework.static_dir, answers)}/{probe}"
        copy = "/run/scaffold-static-probe"
        reply = self.get(self.https(f"/static/{probe}"), output=copy)
        if reply.status != 200:
            return [f"/static/{probe} answered {reply.status}, expected 200 (from {on_disk})"]
        problems = []
        if self.machine.run("cmp", "--silent", copy, on_disk, check=False).returncode != 0:
            problems.append(f"/static/{probe} is not {on_disk}")
        if not (reply.header("cache-control") or reply.header("expires")):
            problems.append(f"/static/{probe} has no Cache-Control or Expires header")
        return problems

    # -- TLS ----------------------------------------------------------------------------------

    def _s_client(self, *options: str) -> str:
        request = f"HEAD / HTTP/1.1\r\nHost: {self.domain}\r\nConnection: close\r\n\r\n"
        result = self.machine.run(
            "openssl",
            "s_client",
            "-connect",
            "127.0.0.1:443",
            "-servername",
            self.domain,
            "-ign_eof",
            *options,
            input=request,
            check=False,
            timeout=20,
        )
        return result.stdout + result.stderr

    def tls(self) -> str:
        """TLS 1.3 negotiated, and a session resumed from the first connection's ticket."""
        problems = []
        first = self._s_client("-tls1_3")
        if _handshake(first) != ("New", "TLSv1.3"):
            problems.append(f"TLS 1.3 was not negotiated ({_tls_error(first)})")
        session = "/run/scaffold-tls.session"
        self.machine.run("rm", "-f", session)
        issued = self._s_client("-sess_out", session)
        _, protocol = _handshake(issued)
        if self.machine.run("test", "-s", session, check=False).returncode != 0:
            problems.append(f"the server issued no session to resume over {protocol or 'TLS'}")
        else:
            resumed = self._s_client("-sess_in", session)
            if _handshake(resumed)[0] != "Reused":
                problems.append(
                    f"a second connection with the first one's {protocol} session was not "
                    f"resumed ({_tls_error(resumed)})"
                )
        if problems:
            raise StageFailed("; ".join(problems))
        return f"TLS 1.3 negotiated; a {protocol} session resumed"

    # -- the service ----------------------------------------------------------------------------

    def show(self, prop: str, unit: str | None = None) -> str:
        return self.machine.run(
            "systemctl", "show", "--property", prop, "--value", unit or self.unit
        ).stdout.strip()

    def service_processes(self) -> list[tuple[int, str, int]]:
        """(pid, user, parent pid) of every process systemd counts as the service's."""
        ps = self.machine.run("ps", "-e", "--no-headers", "-o", "pid,user:32,ppid,unit:200")
        return [
            (int(pid), user, int(ppid))
            for pid, user, ppid, unit in (line.split() for line in ps.stdout.splitlines())
            if unit == self.unit
        ]

    def service(self) -> str:
        """The socket and the service are active; every server process runs as the service
        user, which is not nginx's; nothing the app wrote in its state directory is readable by
        other users."""
        problems = []
        for unit in (f"{self.package}.socket", self.unit):
            state = self.machine.run("systemctl", "is-active", unit, check=False).stdout.strip()
            if state != "active":
                problems.append(f"{unit} is {state}")
        user = str(self.target.answers["deploy_user"])
        processes = self.service_processes()
        others = sorted({owner for _, owner, _ in processes if owner != user})
        if len(processes) < 2:
            problems.append(
                f"{self.unit} runs {len(processes)} process(es), expected a master and its workers"
            )
        if others:
            problems.append(f"{self.server.title} runs as {', '.join(others)}, not only as {user}")
        nginx = self.machine.run("ps", "-C", "nginx", "--no-headers", "-o", "user:32", check=False)
        if user in nginx.stdout.split():
            problems.append(
                f"{self.server.title} runs as {user}, nginx's own user: nginx could read .env"
            )
        state = f"/var/lib/{self.package}"
        exposed = self.machine.run("find", state, "-perm", "-o=r", "-type", "f", check=False)
        if exposed.stdout.strip():
            files = ", ".join(exposed.stdout.split())
            problems.append(f"other users may read what the app wrote: {files} (no UMask=?)")
        if problems:
            raise StageFailed("; ".join(problems))
        return (
            f"{self.package}.socket and {self.unit} active; {len(processes)} {self.server.title} "
            f"processes, all as {user}, not nginx's user; nothing in {state} readable by others"
        )

    def healthz(self, wait: float = 0.0) -> int:
        """The status of /healthz through nginx; 0 when nothing answered within wait seconds
        (`systemctl reload nginx` returns before nginx listens with the new site)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                return self.get(self.https(self.target.framework.health_path)).status
            except OperationFailed:
                if time.monotonic() >= deadline:
                    return 0
                time.sleep(0.2)

    def restart(self) -> str:
        """kill -9 of the master: systemd starts a new one, and /healthz answers again."""
        master = self.show("MainPID")
        restarts = int(self.show("NRestarts") or 0)
        self.machine.run("kill", "-9", master)
        started = time.monotonic()
        while time.monotonic() - started < RESTART_TIMEOUT:
            now = self.show("MainPID")
            if now not in ("0", master) and self.show("ActiveState") == "active":
                break
            time.sleep(0.2)
        else:
            raise StageFailed(
                f"systemd did not restart {self.unit} within {RESTART_TIMEOUT:.0f}s of kill -9 "
                f"(now {self.show('ActiveState')}/{self.show('SubState')})"
            )
        took = time.monotonic() - started
        status = self.healthz()
        if status != 200:
            raise StageFailed(
                f"after the restart {self.target.framework.health_path} answered {status}"
            )
        counted = int(self.show("NRestarts") or 0) - restarts
        return (
            f"kill -9 of the master {master}: systemd started {now} in {took:.1f}s "
            f"(NRestarts +{counted}), healthz 200"
        )

    def _workers(self, master: str) -> set[int]:
        return {pid for pid, _, parent in self.service_processes() if str(parent) == master}

    def reload(self) -> str:
        """How a deploy swaps in new code, under a short load on 127.0.0.1:443: no request
        fails. `systemctl reload` where the server reloads gracefully (its master stays, its
        workers are replaced); else `systemctl restart`, with the socket holding connections."""
        reloads = self.server.reloads
        verb = "reload" if reloads else "restart"
        master = self.show("MainPID")
        old = self._workers(master)
        load = Load(self.machine, self.domain, self.target.framework.health_path)
        try:
            time.sleep(0.5)
            self.machine.run("systemctl", verb, self.unit)
            started = time.monotonic()
            while time.monotonic() - started < RELOAD_TIMEOUT:
                main = master if reloads else self.show("MainPID")
                workers = self._workers(main)
                if workers and not workers & old and (reloads or main not in ("0", master)):
                    break
                time.sleep(0.2)
            else:
                raise StageFailed(
                    f"{self.unit}'s old workers {sorted(old)} were still running "
                    f"{RELOAD_TIMEOUT:.0f}s after systemctl {verb}"
                )
            took = time.monotonic() - started
            time.sleep(0.5)  # the new workers serve a little
        finally:
            counts = load.stop()
        if counts["failed"] or not counts["ok"]:
            raise StageFailed(
                f"{counts['failed']} of {counts['ok'] + counts['failed']} requests failed "
                f"during systemctl {verb}: {'; '.join(counts['errors'])}"
            )
        if reloads and self.show("MainPID") != master:
            raise StageFailed(f"the reload replaced the master {master}; it should keep it")
        return (
            f"systemctl {verb}: {len(old)} workers replaced in {took:.1f}s under load, "
            f"{counts['ok']} requests, none failed"
        )

    def journal(self) -> str:
        """The server's access log lines (client, request, status, duration) are in the
        journal."""
        lines = self.machine.run(
            "journalctl", "--unit", self.unit, "--no-pager", "--output", "cat"
        ).stdout.splitlines()
        health = re.escape(self.target.framework.health_path)
        access = [line for line in lines if re.search(rf'"GET {health}\S* HTTP/[\d.]+" 200 ', line)]
        if not access:
            tail = " | ".join(lines[-3:])
            raise StageFailed(
                f"no access log line for GET {health} in journalctl -u {self.unit}"
                f" (last lines: {tail})"
            )
        return f"journalctl -u {self.unit}: {len(access)} access log lines, e.g. {access[-1]}"


def _handshake(output: str) -> tuple[str, str]:
    """("New" or "Reused", the protocol) from s_client's summary line; empty when none."""
    match = re.search(r"^(New|Reused), (TLSv[\d.]+),", output, re.M)
    return (match.group(1), match.group(2)) if match else ("", "")


def _tls_error(output: str) -> str:
    """What went wrong in s_client's output (the self-signed certificate is expected)."""
    for line in output.splitlines():
        lowered = line.lower()
        if ("error" in lowered or "alert" in lowered) and "verif" not in lowered:
            return line.strip()[:160]
    kind, protocol = _handshake(output)
    return f"a {kind.lower()} {protocol} session" if protocol else "no handshake"
