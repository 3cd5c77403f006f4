"""A private network for rehearsal machines: a network namespace of our own holding one bridge.

Each machine's veth joins the bridge (`systemd-nspawn --network-bridge`, run inside the
namespace); the host joins it too, as the bridge's own address, for the programs that drive
the machines (ansible-playbook over SSH). No route leads out: nothing on it can reach, or be
reached from, any other network.
"""

from __future__ import annotations

import os
import subprocess
import time

from scaffold.errors import OperationFailed

BRIDGE = "br0"
PREFIX = "10.77.0"  # a /24 that exists only inside the namespace


class PrivateNetwork:
    """`create()` makes the namespace and its bridge; `close()` removes both, and with them
    every veth still on it."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"scaffold-{os.getpid()}-{time.monotonic_ns() % 100000}"
        self.bridge = BRIDGE
        self.created = False

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    def address(self, host: int) -> str:
        """The address of host number `host` (2-254; 1 is the host's own)."""
        return f"{PREFIX}.{host}"

    @property
    def controller(self) -> str:
        return self.address(1)

    def create(self) -> None:
        self._ip("netns", "add", self.name)
        self.created = True
        self._ip("-n", self.name, "link", "set", "lo", "up")
        self._ip("-n", self.name, "link", "add", self.bridge, "type", "bridge")
        self._ip("-n", self.name, "address", "add", f"{self.controller}/24", "dev", self.bridge)
        self._ip("-n", self.name, "link", "set", self.bridge, "up")

    def enter(self) -> list[str]:
        """The argv prefix that runs a program inside the namespace (its network only)."""
        return ["nsenter", f"--net={self.path}", "--"]

    def close(self) -> None:
        if self.created:
            self._ip("netns", "delete", self.name, check=False)
            self.created = False

    @staticmethod
    def _ip(*args: str, check: bool = True) -> None:
        try:
            result = subprocess.run(
                ["ip", *args], capture_output=True, text=True, timeout=30, check=False
            )
        except OSError as error:
            raise OperationFailed(
                "the several-machine rehearsal needs `ip`",
                "install it: apt-get install -y iproute2",
            ) from error
        if check and result.returncode != 0:
            raise OperationFailed(
                f"`ip {' '.join(args)}` failed: {result.stderr.strip()}",
                "the rehearsal needs root and network namespaces",
            )
