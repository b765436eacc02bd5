"""The real-device part of the scale bench's live phase.

``agents`` snmpsim agents (the switch recording: dozens of interfaces) on
127.0.2.x, entered in the bench's inventory as v2c devices polled every
60 s, are polled by a real ``netvigil collect all`` (SNMP poller, ICMP
prober, trap and syslog receivers in one process). Syslog lines go to its UDP
port and traps come from net-snmp's ``snmptrap``, so those records, too,
take the whole real path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from scale_stack import spawn_netvigil, stop_proc

from ingest.simulate.agents import SimAgent, SnmpsimAgents, free_udp_port
from netvigil.db import connect
from netvigil.inventory import Credentials, Device, upsert_device
from netvigil.settings import Settings

__all__ = ["LiveExtras"]

SYSLOG_PER_S = 100
TRAPS_PER_S = 2


class LiveExtras:
    def __init__(self, env: dict[str, str], s: Settings, agents: int, logs: Path) -> None:
        self.env, self.s, self.n, self.logs = env, s, agents, logs
        self.sim: SnmpsimAgents | None = None
        self.collector: subprocess.Popen[bytes] | None = None
        self.traps_sent = 0
        self.syslog_sent = 0

    def start(self) -> None:
        if self.n <= 0:
            return
        addrs = [f"127.0.2.{i + 1}" for i in range(self.n)]
        port = free_udp_port(addrs[0])
        self.sim = SnmpsimAgents([SimAgent(a, port, "switch") for a in addrs]).start(timeout=180)
        with connect(self.s) as conn:
            for i, a in enumerate(addrs):
                upsert_device(conn, Device(name=f"rl-{i:03d}", address=a, port=port, poll_interval=60.0,
                                           credentials=Credentials(version="v2c", community="public")))  # fmt: skip
            conn.commit()
        self.collector = spawn_netvigil(self.env, ["collect", "all"], self.logs / "collect-all.log")

    async def send_events(self, seconds: float) -> None:
        """Syslog over UDP and traps through snmptrap at a steady rate for ``seconds``."""
        c = self.s.collector
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        start = time.monotonic()
        tick = 0
        try:
            while time.monotonic() - start < seconds:
                for j in range(SYSLOG_PER_S):
                    line = f"<134>Nov 25 01:00:00 rl-{j % max(self.n, 1):03d} app[42]: scale line {tick}-{j}"
                    sock.sendto(line.encode(), (c.bind, c.syslog_udp_port))
                    self.syslog_sent += 1
                for _ in range(TRAPS_PER_S):
                    await asyncio.to_thread(self._trap)
                tick += 1
                await asyncio.sleep(max(0.0, start + tick - time.monotonic()))
        finally:
            sock.close()

    def _trap(self) -> None:
        c = self.s.collector
        cmd = ["snmptrap", "-v2c", "-c", "public", f"{c.bind}:{c.trap_port}", "", "1.3.6.1.6.3.1.1.5.3",
               "1.3.6.1.2.1.2.2.1.1.1", "i", "1"]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, check=False, env=dict(os.environ, MIBS=""))
        if proc.returncode == 0:
            self.traps_sent += 1

    def real_polls(self) -> dict[str, Any]:
        """The collector's own counters (its Prometheus endpoint)."""
        url = f"http://{self.s.collector.bind}:{self.s.collector.metrics_port}/metrics"
        out: dict[str, Any] = {}
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=3) as resp:
            text = resp.read().decode()
            for m in re.finditer(r'^netvigil_snmp_polls_total\{status="(\w+)"\} ([0-9.e+]+)$', text, re.M):
                out[m.group(1)] = float(m.group(2))
        return out

    def stop(self) -> None:
        stop_proc(self.collector)
        if self.sim is not None:
            self.sim.stop()
