"""A short `netvigil simulate` run against real agents, sockets and iptables (no mocks).

The scenario's trap and syslog targets are sockets this test listens on, so
it checks what actually went over the wire: agents answer net-snmp's
``snmpget``, a link fault flips ``ifOperStatus`` and a linkDown trap arrives
from the switch's address, logger messages arrive over UDP and TCP, a host
stops answering pings during its fault, and at the end every agent is gone
and no firewall rule is left behind.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator

import msgspec
import pytest
from icmplib import async_ping

from ingest.simulate.agents import snmp_answers
from ingest.simulate.scenario import Scenario
from ingest.simulate.topology import plan_topology
from netvigil.db import connect
from netvigil.inventory import get_device, remove_device
from netvigil.settings import Settings

MARK = uuid.uuid4().hex[:6]
LINK_DOWN_OID = bytes.fromhex("2b06010603010105 03".replace(" ", ""))  # 1.3.6.1.6.3.1.1.5.3, BER body


def _snmpget(address: str, oid: str) -> str:
    out = subprocess.run(
        ["snmpget", "-v2c", "-c", "public", "-On", "-Oqv", "-t", "1", "-r", "1", f"{address}:1161", oid],
        capture_output=True, text=True, check=False, env=dict(os.environ, MIBS=""),
    )  # fmt: skip
    return out.stdout.strip()


def _iptables_rules() -> str:
    return subprocess.run(
        ["iptables", "-w", "-S", "INPUT"], capture_output=True, text=True, check=True
    ).stdout


async def until(cond: Callable[[], bool], within: float = 30.0) -> None:
    for _ in range(int(within / 0.1)):
        if cond():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


class Sink:
    """UDP sockets for traps and syslog, and a TCP listener for syslog, on free ports."""

    def __init__(self) -> None:
        self.trap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for s in (self.trap, self.syslog, self.tcp):
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
        self.tcp.listen(16)
        self.traps: list[tuple[bytes, str]] = []
        self.lines: list[tuple[bytes, str]] = []
        self.tcp_data = b""

    def drain(self) -> None:
        for sock, out in ((self.trap, self.traps), (self.syslog, self.lines)):
            while True:
                try:
                    data, addr = sock.recvfrom(65535)
                except BlockingIOError:
                    break
                out.append((data, addr[0]))
        while True:
            try:
                conn, _ = self.tcp.accept()
            except BlockingIOError:
                break
            conn.settimeout(2)
            with conn:
                while chunk := conn.recv(65535):
                    self.tcp_data += chunk

    def close(self) -> None:
        for s in (self.trap, self.syslog, self.tcp):
            s.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


async def test_short_simulation(pg_stack: Settings, sink: Sink) -> None:
    c = msgspec.structs.replace(
        pg_stack.collector,
        trap_port=sink.trap.getsockname()[1],
        syslog_udp_port=sink.syslog.getsockname()[1],
        syslog_tcp_port=sink.tcp.getsockname()[1],
    )
    settings = msgspec.structs.replace(pg_stack, collector=c)
    plan = plan_topology(4, base_address="127.0.91.11", prefix=f"simt{MARK}", snmpd=False)
    router, switch, server1, _server2 = plan
    scenario = Scenario(settings, plan, duration=20.0, flaps=1, trap_every=1.0, syslog_every=0.4)
    stop = asyncio.Event()
    task = asyncio.create_task(scenario.run(stop))
    try:
        # Agents up and registered (with their parents) once the first step is played.
        await until(lambda: bool(scenario.played) or task.done(), 90)
        assert scenario.played, task.exception() if task.done() else "no step played"
        with connect(settings) as conn:
            dev = get_device(conn, server1.name)
            assert dev is not None and dev.parent == switch.name and dev.tags["role"] == "server"
        assert await asyncio.to_thread(_snmpget, switch.address, "1.3.6.1.2.1.1.5.0") == f'"{switch.name}"'
        assert await asyncio.to_thread(_snmpget, switch.address, "1.3.6.1.2.1.2.2.1.8.1") == "1"

        # link_down at 10% of the run (2 s): oper status 2 on the agent, and a linkDown trap on the wire.
        await until(lambda: any(s.action == "link_down" for s in scenario.played))
        assert await asyncio.to_thread(_snmpget, switch.address, "1.3.6.1.2.1.2.2.1.8.1") == "2"
        await asyncio.sleep(0.5)
        sink.drain()
        assert any(src == switch.address and LINK_DOWN_OID in data for data, src in sink.traps)

        # ping_block (35%..50%): the silent host does not answer ICMP, the others do.
        await until(lambda: any(s.action == "ping_block" for s in scenario.played))
        silent = next(s.device for s in scenario.played if s.action == "ping_block")
        addr = next(d.address for d in plan if d.name == silent)
        assert not (await async_ping(addr, count=1, timeout=0.5, privileged=True)).is_alive
        assert (await async_ping(router.address, count=1, timeout=0.5, privileged=True)).is_alive
        await until(lambda: any(s.action == "ping_unblock" for s in scenario.played))
        sink.drain()
        assert any(b"netvigil-sim" in data and src == "127.0.0.1" for data, src in sink.lines)  # logger, UDP
        assert any(b"%SYS-5-CONFIG_I" in data or b"sshd[" in data for data, _ in sink.lines)  # device-sourced
        assert {src for _, src in sink.lines} & {d.address for d in plan}
    finally:
        stop.set()
        sent = await task
        sink.drain()
        with connect(settings) as conn:
            for d in reversed(plan):
                remove_device(conn, d.name)
            conn.commit()
    assert b"netvigil-sim" in sink.tcp_data  # logger over TCP
    assert sent.traps >= 1 and sent.syslog >= 3
    # Everything stopped, nothing left in the firewall.
    assert not snmp_answers(switch.address, 1161, wait=0.3)
    rules = await asyncio.to_thread(_iptables_rules)
    assert f"netvigil-sim-{os.getpid()}" not in rules
    assert (await async_ping(addr, count=1, timeout=0.5, privileged=True)).is_alive
