"""Modules -> DevicePoll mapping, with the fake transport; sharding; MIB map."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from ingest.mibs.generate import OUTPUT, generate
from ingest.snmp.mib import MibError, name_of, resolve
from ingest.snmp.poller import format_text, poll_device
from ingest.snmp.service import in_shard, parse_shard, select_devices
from ingest.snmp.transport import FakeTransport
from netvigil.inventory import Credentials, Device

IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"
AGENT = {
    "1.3.6.1.2.1.1.3.0": ("TimeTicks", 4242),
    "1.3.6.1.2.1.1.5.0": ("OCTET STRING", b"sw1"),
    "1.3.6.1.2.1.1.1.0": ("OCTET STRING", b"Test switch"),
    "1.3.6.1.2.1.1.2.0": ("OID", "1.3.6.1.4.1.9.1.1"),
    f"{IF}.2.1": ("OCTET STRING", b"eth0"),
    f"{IF}.2.2": ("OCTET STRING", b"eth1"),
    f"{IF}.8.1": ("INTEGER", 1),
    f"{IF}.10.1": ("Counter32", 100),  # has HC: dropped
    f"{IF}.10.2": ("Counter32", 200),  # no HC: kept as the fallback
    f"{IF}.14.1": ("Counter32", 3),
    f"{IF}.6.1": ("OCTET STRING", b"\x00\x11\x22\x33\x44\x55"),  # ifPhysAddress: not polled
    f"{IFX}.1.1": ("OCTET STRING", b"Gi0/1"),
    f"{IFX}.6.1": ("Counter64", 2**63 + 5),
    f"{IFX}.15.1": ("Gauge32", 1000),
    "1.3.6.1.4.1.2021.10.1.3.1": ("OCTET STRING", b"0.15"),
    "1.3.6.1.4.1.2021.11.50.0": ("Counter32", 777),
    "1.3.6.1.2.1.25.3.3.1.2.196608": ("INTEGER", 12),
    "1.3.6.1.2.1.25.2.3.1.3.31": ("OCTET STRING", b"/"),
    "1.3.6.1.2.1.25.2.3.1.2.31": ("OID", "1.3.6.1.2.1.25.2.1.4"),
    "1.3.6.1.2.1.25.2.3.1.6.31": ("INTEGER", 5000),
    "1.3.6.1.4.1.2021.13.15.1.1.2.1": ("OCTET STRING", b"sda"),
    "1.3.6.1.4.1.2021.13.15.1.1.12.1": ("Counter64", 123456789),
    "1.0.8802.1.1.2.1.4.1.1.9.0.3.1": ("OCTET STRING", b"core-2"),
    "1.0.8802.1.1.2.1.4.1.1.5.0.3.1": ("OCTET STRING", b"\x00\x1b\x21\xaa\xbb\xcc"),
    "1.0.8802.1.1.2.1.4.1.1.7.0.3.1": ("OCTET STRING", b"Gi1/0/3"),
}


def _device(**kw: object) -> Device:
    return Device(name="sw1", address="127.0.0.2", credentials=Credentials(version="v2c", community="c"),
                  modules=["interfaces", "host", "lldp", "rmon"], **kw)  # type: ignore[arg-type]  # fmt: skip


def test_poll_maps_mib_names_kinds_and_instances() -> None:
    rec = asyncio.run(poll_device(_device(), FakeTransport(AGENT), now=1000.0))
    assert rec.status == "ok" and rec.sys_uptime == 4242 and rec.modules[0] == "system"
    samples = {(s.metric, s.instance): (s.value, s.kind) for s in rec.samples}
    props = {(p.name, p.instance): p.text for p in rec.props}
    assert samples[("ifHCInOctets", "1")] == (2**63 + 5, "counter64")
    assert samples[("ifOperStatus", "1")] == (1, "integer")
    assert samples[("ifHighSpeed", "1")] == (1000, "gauge")
    assert ("ifInOctets", "1") not in samples  # HC present
    assert samples[("ifInOctets", "2")] == (200, "counter32")  # 32-bit fallback
    assert samples[("laLoad", "1")] == (0.15, "gauge")
    assert samples[("ssCpuRawUser", "")] == (777, "counter32")
    assert samples[("hrProcessorLoad", "196608")] == (12, "integer")
    assert samples[("diskIONReadX", "1")] == (123456789, "counter64")
    assert samples[("sysUpTime", "")] == (4242, "timeticks")
    assert props[("ifName", "1")] == "Gi0/1" and props[("ifDescr", "2")] == "eth1"
    assert props[("sysObjectID", "")] == "1.3.6.1.4.1.9.1.1"
    assert props[("hrStorageDescr", "31")] == "/" and props[("diskIODevice", "1")] == "sda"
    assert props[("lldpRemSysName", "3.1")] == "core-2"
    assert props[("lldpRemChassisId", "3.1")] == "00:1b:21:aa:bb:cc"
    assert not any(p.name == "ifPhysAddress" for p in rec.props)
    counts = Counter((s.metric, s.instance) for s in rec.samples)
    assert max(counts.values()) == 1
    rec.validate()


def test_unreachable_is_a_record() -> None:
    rec = asyncio.run(poll_device(_device(), FakeTransport(AGENT, unreachable=True)))
    assert rec.status == "unreachable" and rec.error and not rec.samples
    rec.validate()


def test_failed_walk_makes_partial() -> None:
    rec = asyncio.run(poll_device(_device(), FakeTransport(AGENT, failing_walks=["1.3.6.1.2.1.31.1.1"])))
    assert rec.status == "partial" and "genErr" in (rec.error or "")
    assert any(s.metric == "ifInOctets" and s.instance == "1" for s in rec.samples)  # fell back to 32 bits


def test_format_text() -> None:
    assert format_text("OCTET STRING", b"eth0") == "eth0"
    assert format_text("OCTET STRING", b"\xff\x00") == "ff:00"
    assert format_text("OID", "1.3.6") == "1.3.6"


def test_shards_split_devices_exactly_once() -> None:
    names = [f"dev{i}" for i in range(1000)]
    owners = Counter(k for n in names for k in range(4) if in_shard(n, (k, 4)))
    assert sum(owners.values()) == 1000 and min(owners.values()) > 200
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "x", "1/0", "-1/2"):
        with pytest.raises(ValueError):
            parse_shard(bad)
    devs = [_device(), Device(name="nocreds", address="127.0.0.3")]
    assert list(select_devices(devs, (0, 1))) == ["sw1"]


def test_mib_names_resolve_offline() -> None:
    assert resolve("IF-MIB::ifHCInOctets") == "1.3.6.1.2.1.31.1.1.1.6"
    assert resolve("sysUpTime.0") == "1.3.6.1.2.1.1.3.0"
    assert resolve(".1.3.6.1.2.1") == "1.3.6.1.2.1"
    assert resolve("UCD-SNMP-MIB::laLoad.1") == "1.3.6.1.4.1.2021.10.1.3.1"
    obj, inst = name_of("1.0.8802.1.1.2.1.4.1.1.9.0.3.1")
    assert obj is not None and obj.name == "lldpRemSysName" and inst == "0.3.1"
    with pytest.raises(MibError):
        resolve("IF-MIB::nosuch")


def test_committed_oid_map_is_what_the_generator_produces() -> None:
    """CI check (snmp_exporter style): regenerate the map; any diff fails."""
    assert OUTPUT.read_text() == generate(), "run: .venv/bin/python -m ingest.mibs.generate"
