"""Every listening socket of the stack's services and of NetVigil's processes is on loopback.

The running test stack (PostgreSQL, Redis, Kafka), a ``netvigil collect all``
(SNMP poller, ICMP prober, trap and syslog receivers, metrics endpoint), a
``netvigil worker`` (Faust web port, metrics endpoint), ``netvigil app``
(Streamlit) and the simulated agents (net-snmp ``snmpd``) are started with
the default bind settings; ``ss -ltnup`` then lists every TCP listener and
UDP socket, and each one owned by those processes (or their children) must
be bound to 127.0.0.0/8 or ::1 -- nothing reachable from another machine
unless an operator configures it.

One exception, by design and stated: a UDP *client* socket on an ephemeral
port (the SNMP poller's, which must receive answers from real devices) may
be bound to the wildcard address; every configured service port may not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.simulate.agents import SnmpdAgent, free_udp_port
from netvigil.settings import Settings
from netvigil.stack import services
from netvigil.stack.base import port_open

MARK = uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class Sock:
    proto: str
    addr: str
    port: int
    pid: int
    name: str


def listening() -> list[Sock]:
    out = subprocess.run(["ss", "-ltnupH"], capture_output=True, text=True, check=True).stdout
    socks = []
    for line in out.splitlines():
        cols = line.split()
        if len(cols) < 5:
            continue
        addr, _, port = cols[4].rpartition(":")
        for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            socks.append(Sock(cols[0], addr.strip("[]"), int(port) if port.isdigit() else 0, int(pid), name))
    return socks


def is_loopback(addr: str) -> bool:
    a = addr.split("%")[0]
    return a.startswith("127.") or a == "::1" or a.startswith("::ffff:127.")


def descendants(pids: set[int]) -> set[int]:
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    found = set(pids)
    grew = True
    while grew:
        new = {p for p, pp in parent.items() if pp in found and p not in found}
        found |= new
        grew = bool(new)
    return found


def _free_tcp() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def processes(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """NetVigil's own processes on the test stack, each with ports of its own."""
    logs = tmp_path_factory.mktemp("loopback")
    ports = {k: str(_free_tcp()) for k in ("metrics", "trap", "syslog", "wmetrics", "web", "app")}
    env = dict(
        os.environ,
        NETVIGIL_KAFKA__TOPIC_PREFIX=f"test.lb{MARK}.",
        NETVIGIL_STREAMS__APP_ID=f"test-lb-{MARK}",
        NETVIGIL_COLLECTOR__METRICS_PORT=ports["metrics"],
        NETVIGIL_COLLECTOR__TRAP_PORT=ports["trap"],
        NETVIGIL_COLLECTOR__SYSLOG_UDP_PORT=ports["syslog"],
        NETVIGIL_COLLECTOR__SYSLOG_TCP_PORT=ports["syslog"],
        NETVIGIL_COLLECTOR__SHARD="0/9973",  # poll (almost) none of the shared inventory
    )
    cmds = {
        "collect": ["collect", "all"],
        "worker": [
            "worker",
            "--metrics-port",
            ports["wmetrics"],
            "--web-port",
            ports["web"],
            "--data-dir",
            str(logs / "worker"),
        ],
        "app": ["app", "--port", ports["app"]],
    }
    procs = {}
    for name, args in cmds.items():
        with (logs / f"{name}.log").open("ab") as out:
            procs[name] = subprocess.Popen([sys.executable, "-m", "netvigil.cli", *args], env=env, stdout=out,
                                           stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    address = f"127.74.{int(MARK[:2], 16)}.{int(MARK[2:4], 16) or 1}"
    agent = SnmpdAgent(address, free_udp_port(address)).start()
    try:
        deadline = time.monotonic() + 90
        wanted = [int(ports[k]) for k in ("metrics", "syslog", "wmetrics", "web", "app")]
        while time.monotonic() < deadline and not all(port_open("127.0.0.1", p) for p in wanted):
            for name, proc in procs.items():
                assert proc.poll() is None, f"{name} exited: {(logs / f'{name}.log').read_text()[-2000:]}"
            time.sleep(1)
        assert all(port_open("127.0.0.1", p) for p in wanted), f"not all ports open: {ports}"
        yield {**{k: p.pid for k, p in procs.items()}, "snmpd": agent.proc.pid if agent.proc else 0}
    finally:
        agent.stop()
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _owned(roots: dict[str, int]) -> dict[int, str]:
    owner = {}
    for name, pid in roots.items():
        for p in descendants({pid}):
            owner[p] = name
    return owner


def test_stack_services_listen_on_loopback_only(stack: Settings) -> None:
    roots = {svc.name: svc.pid() or 0 for svc in services(stack)}
    owner = _owned(roots)
    mine = [s for s in listening() if s.pid in owner]
    assert {owner[s.pid] for s in mine} >= {"postgres", "redis", "kafka"}, mine
    exposed = [s for s in mine if not is_loopback(s.addr)]
    assert exposed == [], f"reachable from other machines: {exposed}"


def test_netvigil_processes_listen_on_loopback_only(processes: dict[str, int]) -> None:
    owner = _owned({k: v for k, v in processes.items() if k != "snmpd"})
    mine = [s for s in listening() if s.pid in owner]
    assert {owner[s.pid] for s in mine} >= {"collect", "worker", "app"}, mine
    exposed = [
        s for s in mine
        if not is_loopback(s.addr) and not (s.proto == "udp" and s.port >= 32768)  # the poller's client socket
    ]  # fmt: skip
    assert exposed == [], f"reachable from other machines: {[(owner[s.pid], s) for s in exposed]}"


def test_simulated_agents_listen_on_loopback_only(processes: dict[str, int]) -> None:
    """Agents of `netvigil simulate`: snmpd must not open SMUX (tcp/199) on every interface.

    Only one process can hold tcp/199, so every project-started snmpd (its
    command line names a ``netvigil-snmpd`` work directory or this checkout)
    is checked, not only this test's.
    """
    roots = {"snmpd": processes["snmpd"]}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(argv).decode(errors="replace")
        if argv and argv[0].endswith(b"snmpd") and ("netvigil-snmpd" in text or str(Path.cwd()) in text):
            roots[f"snmpd-{cmdline.parent.name}"] = int(cmdline.parent.name)
    owner = _owned(roots)
    mine = [s for s in listening() if s.pid in owner]
    assert mine, "snmpd has no sockets?"
    exposed = [s for s in mine if not is_loopback(s.addr)]
    assert exposed == [], f"a simulated agent is reachable from other machines: {exposed}"
