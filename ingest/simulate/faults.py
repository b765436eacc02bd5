"""The fault schedule (pure) and the firewall that makes loopback hosts go silent.

Every loopback address answers ICMP, so "a host stops answering pings" needs
a rule: an ``iptables`` DROP on the address (echo requests only, or all
traffic for a device that is "down"). Rules carry the comment
``netvigil-sim-<pid>`` so a run removes exactly its own rules on exit, and a
later run removes those of a run that was killed (its pid no longer lives).

The schedule is a list of :class:`Step` computed from the topology and the
run's duration, so a 30-second test run and a 10-minute demo show the same
story at different speeds: a disk filling from early on (enough points for a
predictive alert), a link down and up with traps, a CPU spike, a host
silent to pings, a link flapping, an agent reboot (sysUpTime back to zero, a
coldStart trap), and a parent device down (its children's
alerts are the ones dependency suppression should hide).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Firewall", "Step", "Target", "build_schedule"]

log = logging.getLogger(__name__)
_COMMENT = re.compile(r"netvigil-sim-(\d+)")


@dataclass(frozen=True)
class Target:
    """What the schedule needs to know about a device."""

    name: str
    role: str  # router | switch | server
    parent: str | None = None
    port_on_parent: int | None = None  # ifIndex of the parent switch port it hangs off
    has_disk: bool = False
    has_cpu: bool = False
    rebootable: bool = False  # a real snmpd that can be restarted


@dataclass(frozen=True)
class Step:
    at: float  # seconds after the start
    action: str  # link_down link_up cpu_spike cpu_normal disk_fill ping_block ping_unblock reboot down up
    device: str
    params: dict[str, Any] = field(default_factory=dict)


def build_schedule(targets: list[Target], duration: float, *, flaps: int = 5) -> list[Step]:
    """The faults of one run, in time order; devices without the needed part are skipped."""
    d = duration
    servers = [t for t in targets if t.role == "server"]
    switches = [t for t in targets if t.role == "switch"]
    steps: list[Step] = []
    if not servers:
        return steps
    disk_host = next((s for s in servers[1:] + servers[:1] if s.has_disk), None)
    if disk_host is not None:
        steps.append(Step(0.05 * d, "disk_fill", disk_host.name, {"until": 0.95 * d}))
    linked = [s for s in servers if s.parent and s.port_on_parent]
    if linked:
        s = linked[0]
        port = {"if_index": s.port_on_parent, "child": s.name}
        steps += [
            Step(0.10 * d, "link_down", s.parent or "", port),
            Step(0.20 * d, "link_up", s.parent or "", port),
        ]
    cpu_host = next((s for s in servers if s.has_cpu), servers[0])
    steps += [
        Step(0.15 * d, "cpu_spike", cpu_host.name, {"load": 97}),
        Step(0.30 * d, "cpu_normal", cpu_host.name),
    ]
    silent = servers[2 % len(servers)]
    steps += [Step(0.35 * d, "ping_block", silent.name), Step(0.50 * d, "ping_unblock", silent.name)]
    if linked and flaps > 0:
        s = linked[3 % len(linked)]
        port = {"if_index": s.port_on_parent, "child": s.name, "flap": True}
        period = 0.10 * d / flaps
        for k in range(flaps):
            t = 0.55 * d + k * period
            steps += [
                Step(t, "link_down", s.parent or "", port),
                Step(t + period / 2, "link_up", s.parent or "", port),
            ]
    reboot = next((s for s in servers if s.rebootable), None)
    if reboot is not None:
        steps.append(Step(0.62 * d, "reboot", reboot.name))
    if switches:
        sw = switches[0]
        children = [t.name for t in targets if t.parent == sw.name]
        params = {"children": children, "parent": sw.parent, "uplink": sw.port_on_parent}
        steps += [Step(0.70 * d, "down", sw.name, params), Step(0.85 * d, "up", sw.name, params)]
    return sorted(steps, key=lambda s: s.at)


class Firewall:
    """iptables DROP rules for loopback addresses, owned by this process."""

    def __init__(self) -> None:
        self.comment = f"netvigil-sim-{os.getpid()}"
        self.rules: list[list[str]] = []
        self.available = False

    def prepare(self) -> bool:
        """Install iptables if needed (Debian package ``iptables``) and remove stale rules."""
        from netvigil.stack.base import StackError, apt_install

        try:
            apt_install(["iptables"], ["iptables"])
        except StackError as exc:
            log.warning("no iptables, hosts cannot be made silent: %s", exc)
            return False
        if os.geteuid() != 0:
            log.warning("not root: iptables rules cannot be set, ping faults are skipped")
            return False
        self.available = self._iptables("-S", "INPUT") is not None
        if self.available:
            self.remove_stale()
        return self.available

    def _iptables(self, *args: str) -> str | None:
        exe = shutil.which("iptables") or "iptables"
        proc = subprocess.run([exe, "-w", *args], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            log.warning("iptables %s failed: %s", " ".join(args), proc.stderr.strip()[:200])
            return None
        return proc.stdout

    def _spec(self, address: str, icmp_only: bool) -> list[str]:
        match = ["-p", "icmp", "--icmp-type", "echo-request"] if icmp_only else []
        return [
            "INPUT",
            "-d",
            f"{address}/32",
            *match,
            "-m",
            "comment",
            "--comment",
            self.comment,
            "-j",
            "DROP",
        ]

    def block(self, address: str, *, icmp_only: bool = True) -> bool:
        if not self.available:
            return False
        spec = self._spec(address, icmp_only)
        if spec in self.rules:
            return True
        if self._iptables("-I", *spec) is None:
            return False
        self.rules.append(spec)
        return True

    def unblock(self, address: str, *, icmp_only: bool = True) -> None:
        spec = self._spec(address, icmp_only)
        if spec in self.rules:
            self._iptables("-D", *spec)
            self.rules.remove(spec)

    def cleanup(self) -> None:
        """Remove every rule this process added (called on exit, whatever happened)."""
        for spec in list(self.rules):
            self._iptables("-D", *spec)
        self.rules.clear()

    def remove_stale(self) -> None:
        """Rules left by simulate runs that were killed (their pid is gone)."""
        listing = self._iptables("-S", "INPUT") or ""
        for line in listing.splitlines():
            m = _COMMENT.search(line)
            if m is None or _alive(int(m.group(1))):
                continue
            parts = line.split()
            if parts[:1] == ["-A"]:
                log.info("removing a stale simulate rule: %s", line)
                self._iptables("-D", *[p.strip('"') for p in parts[1:]])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
