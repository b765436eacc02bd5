"""The poller and its transports against real agents (net-snmp snmpd, snmpsim), checked with net-snmp's tools.

Each comparison walks the same subtree with our transport and with
``snmpbulkwalk -On -Oe -Ot -Oq -Ox`` at the same moment; text, OIDs and
enumerations must be equal, moving numbers (counters, uptime, gauges) close.
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ingest.simulate.agents import (
    SNMPSIM_V3_CONTEXT,
    V3_USERS,
    SimAgent,
    SnmpdAgent,
    SnmpsimAgents,
    free_udp_port,
)
from ingest.snmp.ber import VarBind
from ingest.snmp.factory import Engines, make_transport
from ingest.snmp.poller import poll_device
from netvigil.inventory import Credentials, Device

BASE = f"127.{(os.getpid() % 200) + 20}.0"  # a /24 of loopback of our own, away from other tests
SNMPD_ADDR, SWITCH, LINUX, ROUTER = f"{BASE}.1", f"{BASE}.2", f"{BASE}.3", f"{BASE}.4"
V2C = Credentials(version="v2c", community="public")


def _v3(user: int, context: str | None = None) -> Credentials:
    u = V3_USERS[user]
    return Credentials(version="v3", user=u.name, level="authPriv", auth_proto=u.auth.replace("-", ""),
                       auth_key=u.auth_key, priv_proto=u.priv.replace("-", ""), priv_key=u.priv_key,
                       context=context)  # fmt: skip


@pytest.fixture(scope="module")
def snmpd() -> Iterator[SnmpdAgent]:
    with SnmpdAgent(SNMPD_ADDR, free_udp_port(SNMPD_ADDR)) as agent:
        yield agent


@pytest.fixture(scope="module")
def snmpsim() -> Iterator[dict[str, tuple[str, int]]]:
    agents = {name: SimAgent(addr, free_udp_port(addr), name)
              for name, addr in (("switch", SWITCH), ("linux", LINUX), ("router", ROUTER))}  # fmt: skip
    with SnmpsimAgents(list(agents.values())):
        yield {name: (a.address, a.port) for name, a in agents.items()}


def _net_snmp_args(creds: Credentials) -> list[str]:
    if creds.version != "v3":
        return ["-v2c" if creds.version == "v2c" else "-v1", "-c", creds.community or ""]
    u = next(u for u in V3_USERS if u.name == creds.user)
    args = [
        "-v3",
        "-u",
        u.name,
        "-l",
        "authPriv",
        "-a",
        u.auth,
        "-A",
        u.auth_key,
        "-x",
        u.priv,
        "-X",
        u.priv_key,
    ]
    return args + (["-n", creds.context] if creds.context else [])


def net_snmp_walk(addr: tuple[str, int], creds: Credentials, oid: str) -> dict[str, Any]:
    """net-snmp's view: numeric OIDs, numeric enums and ticks, strings as hex bytes."""
    proc = subprocess.run(
        ["snmpbulkwalk", *_net_snmp_args(creds), "-On", "-Oe", "-Ot", "-Oq", "-Ox", "-t", "3", "-r", "1",
         f"{addr[0]}:{addr[1]}", oid],
        capture_output=True, text=True, check=True, env=dict(os.environ, MIBS=""),
    )  # fmt: skip
    out: dict[str, Any] = {}
    for m in re.finditer(r"^\.([\d.]+) (\"[^\"]*\"|[^\n]*)$", proc.stdout, re.M):
        oid_, raw = m[1], m[2]
        if raw.startswith('"'):
            out[oid_] = bytes.fromhex(raw.strip('"').replace("\n", " "))
        elif raw.startswith("."):
            out[oid_] = raw[1:]
        elif re.fullmatch(r"-?\d+", raw):
            out[oid_] = int(raw)
        elif not raw.startswith("No "):
            out[oid_] = raw
    return out


async def _walk(addr: tuple[str, int], creds: Credentials, oids: list[str]) -> list[VarBind]:
    engines = Engines()
    try:
        t = make_transport(engines, addr[0], addr[1], creds, timeout=3, retries=1)
        return [vb for oid in oids for vb in await t.walk(oid)]
    finally:
        await engines.close()


def _close(ours: Any, type_name: str, theirs: Any) -> bool:
    if type_name == "Opaque" and ours[:3] == b"\x9f\x78\x04":  # net-snmp shows an opaque float
        return bool(abs(struct.unpack(">f", ours[3:7])[0] - float(theirs)) < 1e-4)
    if type_name in ("Counter32", "Counter64", "TimeTicks", "Gauge32") or (
        type_name == "INTEGER" and isinstance(theirs, int) and abs(ours) > 1000
    ):
        diff = abs(int(ours) - int(theirs))
        if type_name == "Counter32":
            diff = min(diff, 2**32 - diff)  # one side may have wrapped
        return diff <= max(2_000_000_000 if type_name.startswith("Counter") else 2000, abs(int(theirs)) // 50)
    return bool(ours == theirs)


def compare(addr: tuple[str, int], creds: Credentials, oids: list[str]) -> int:
    ours = asyncio.run(_walk(addr, creds, oids))
    theirs: dict[str, Any] = {}
    for oid in oids:
        theirs.update(net_snmp_walk(addr, creds, oid))
    assert {o for o, _, _ in ours} == set(theirs), "the two walks saw different OIDs"
    bad = [(o, t, v, theirs[o]) for o, t, v in ours if not _close(v, t, theirs[o])]
    assert not bad, bad[:5]
    return len(ours)


TABLES = ["1.3.6.1.2.1.1", "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1", "1.3.6.1.2.1.25.2.3"]


@pytest.mark.parametrize("creds", [V2C, _v3(0), _v3(1)], ids=["v2c", "v3-SHA-AES128", "v3-SHA256-AES256"])
def test_snmpd_walks_match_net_snmp(snmpd: SnmpdAgent, creds: Credentials) -> None:
    assert compare((snmpd.address, snmpd.port), creds, TABLES) > 50


@pytest.mark.parametrize(
    "creds",
    [V2C, _v3(0, SNMPSIM_V3_CONTEXT), _v3(1, SNMPSIM_V3_CONTEXT)],
    ids=["v2c", "v3-SHA-AES128", "v3-SHA256-AES256"],
)
def test_snmpsim_switch_walks_match_net_snmp(snmpsim: dict[str, tuple[str, int]], creds: Credentials) -> None:
    n = compare(snmpsim["switch"], creds, [*TABLES[:3], "1.0.8802.1.1.2.1.4.1", "1.3.6.1.2.1.16.1.1"])
    assert n > 52 * 20


def test_snmpsim_linux_full_walk_matches(snmpsim: dict[str, tuple[str, int]]) -> None:
    """The whole recording, so a value snmpsim cannot encode would show as a short walk."""
    assert compare(snmpsim["linux"], V2C, ["1.3.6.1.2.1", "1.3.6.1.4.1"]) > 3000


def test_v1_get_equals_v2c(snmpd: SnmpdAgent) -> None:
    async def both() -> tuple[list[VarBind], list[VarBind]]:
        engines = Engines()
        oids = ["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.1.99.0"]
        try:
            v1 = make_transport(engines, snmpd.address, snmpd.port, Credentials(version="v1", community="public"),
                                timeout=2, retries=1)  # fmt: skip
            v2 = make_transport(engines, snmpd.address, snmpd.port, V2C, timeout=2, retries=1)
            return await v1.get(oids), await v2.get(oids)
        finally:
            await engines.close()

    a, b = asyncio.run(both())
    assert a == b and len(a) == 3  # the missing OID is left out by both


def _device(name: str, addr: tuple[str, int], creds: Credentials, modules: list[str]) -> Device:
    return Device(name=name, address=addr[0], port=addr[1], credentials=creds, modules=modules)


async def _poll(devices: list[Device], wait: float = 2.0) -> list[Any]:
    engines = Engines()
    try:
        ts = [
            make_transport(engines, d.address, d.port, d.credentials, timeout=wait, retries=1)
            for d in devices
        ]
        return list(await asyncio.gather(*(poll_device(d, t) for d, t in zip(devices, ts, strict=True))))
    finally:
        await engines.close()


def test_poll_simulated_devices(snmpsim: dict[str, tuple[str, int]], snmpd: SnmpdAgent) -> None:
    all_modules = ["interfaces", "host", "rmon", "lldp"]
    sw, lin, rtr, real = asyncio.run(_poll([
        _device("sw", snmpsim["switch"], V2C, all_modules),
        _device("lin", snmpsim["linux"], _v3(1, SNMPSIM_V3_CONTEXT), all_modules),
        _device("rtr", snmpsim["router"], V2C, ["interfaces"]),
        _device("real", (snmpd.address, snmpd.port), _v3(0), all_modules),
    ]))  # fmt: skip
    for rec in (sw, lin, rtr, real):
        assert rec.status == "ok", (rec.device, rec.error)
        assert rec.sys_uptime is not None
        rec.validate()

    def metric(rec: Any, name: str) -> list[Any]:
        return [s for s in rec.samples if s.metric == name]

    def props(rec: Any, name: str) -> dict[str, str]:
        return {p.instance: p.text for p in rec.props if p.name == name}

    assert len(metric(sw, "ifHCInOctets")) == 52 and not metric(sw, "ifInOctets")
    assert props(sw, "lldpRemSysName")["49.1"] == "core-1" and len(props(sw, "lldpRemSysName")) == 12
    assert len(metric(sw, "etherStatsOctets")) == 52
    assert len(metric(rtr, "ifInOctets")) == 6 and not metric(rtr, "ifHCInOctets")  # 32-bit fallback
    assert "/" in props(lin, "hrStorageDescr").values() and len(metric(lin, "laLoad")) == 3
    assert metric(real, "ssCpuRawIdle") and metric(real, "memTotalReal") and props(real, "diskIODevice")


def test_dead_device_does_not_delay_others(snmpd: SnmpdAgent) -> None:
    dead_addr = (f"{BASE}.250", free_udp_port(f"{BASE}.250"))
    live, dead = asyncio.run(_poll([
        _device("live", (snmpd.address, snmpd.port), V2C, ["interfaces", "host"]),
        _device("dead", dead_addr, V2C, ["interfaces"]),
    ], wait=1.0))  # fmt: skip
    assert live.status == "ok" and dead.status == "unreachable" and dead.error
    assert live.duration_ms < dead.duration_ms  # finished while the dead one was still waiting


def test_router_counter_wraps_and_uptime_restarts(snmpsim: dict[str, tuple[str, int]]) -> None:
    """The WAN ifInOctets starts 5 s below 2^32 at 100 MB/s; by 6 s of agent time it has wrapped."""
    (first,) = asyncio.run(_poll([_device("rtr", snmpsim["router"], V2C, ["interfaces"])]))
    assert first.sys_uptime is not None and first.sys_uptime < 30000  # the recording reboots every 300 s
    time.sleep(max(0.0, 6.5 - first.sys_uptime / 100))
    (later,) = asyncio.run(_poll([_device("rtr", snmpsim["router"], V2C, ["interfaces"])]))
    wan = next(s for s in later.samples if s.metric == "ifInOctets" and s.instance == "2")
    assert wan.kind == "counter32" and int(wan.value) < 2**32 - 500_000_000


def test_snmpd_restart_is_a_reboot(snmpd: SnmpdAgent) -> None:
    dev = _device("real", (snmpd.address, snmpd.port), V2C, ["system"])
    time.sleep(1.2)
    (before,) = asyncio.run(_poll([dev]))
    snmpd.restart()
    (after,) = asyncio.run(_poll([dev]))
    assert before.sys_uptime is not None and after.sys_uptime is not None
    assert after.sys_uptime < before.sys_uptime
