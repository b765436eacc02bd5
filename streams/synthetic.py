"""Deterministic synthetic device polls for tests and the pipeline benchmark.

A poll looks like what the SNMP collector publishes for a Linux host or a
switch: per interface HC octets/packets, errors, discards, status and speed;
UCD CPU ticks, load, memory; one disk. ``seq`` advances the counters, so
consecutive polls of a device give steady, known rates.
"""

from __future__ import annotations

from netvigil.records import DevicePoll, Prop, Sample

__all__ = ["samples_per_poll", "synthetic_poll"]

_IF_COUNTERS = (
    ("ifHCInOctets", 125_000),
    ("ifHCOutOctets", 62_500),
    ("ifHCInUcastPkts", 100),
    ("ifHCOutUcastPkts", 80),
    ("ifHCInMulticastPkts", 2),
    ("ifHCOutMulticastPkts", 1),
    ("ifHCInBroadcastPkts", 1),
    ("ifHCOutBroadcastPkts", 1),
    ("ifInErrors", 0),
    ("ifOutErrors", 0),
    ("ifInDiscards", 0),
    ("ifOutDiscards", 0),
)


def samples_per_poll(interfaces: int) -> int:
    return interfaces * (len(_IF_COUNTERS) + 3) + 6 + 6 + 3 + 3


def synthetic_poll(
    device: str, ts: float, seq: int, interfaces: int = 9, interval: float = 60.0
) -> DevicePoll:
    """Poll number ``seq`` of ``device`` (about 150 samples with 9 interfaces)."""
    samples: list[Sample] = []
    props: list[Prop] = [Prop("sysName", "", device), Prop("sysDescr", "", "synthetic")]
    elapsed = seq * interval
    for i in range(1, interfaces + 1):
        inst = str(i)
        for name, per_s in _IF_COUNTERS:
            value = int(per_s * i * elapsed)
            if name.startswith("ifHC"):
                samples.append(Sample(name, inst, value, "counter64"))
            else:
                samples.append(Sample(name, inst, value, "counter32"))
        samples.append(Sample("ifHighSpeed", inst, 1000, "gauge"))
        samples.append(Sample("ifOperStatus", inst, 1, "integer"))
        samples.append(Sample("ifAdminStatus", inst, 1, "integer"))
        props.append(Prop("ifName", inst, f"eth{i}"))
    ticks = int(elapsed * 100)
    for name, share in (("User", 20), ("Nice", 0), ("System", 10), ("Idle", 65), ("Wait", 5), ("Kernel", 8)):
        samples.append(Sample(f"ssCpuRaw{name}", "", ticks * share // 100, "counter32"))
    for name, value in (
        ("memTotalReal", 16_000_000),
        ("memAvailReal", 4_000_000),
        ("memBuffer", 500_000),
        ("memCached", 3_000_000),
        ("memTotalSwap", 2_000_000),
        ("memAvailSwap", 1_900_000),
    ):
        samples.append(Sample(name, "", value, "integer"))
    for i, load in enumerate((0.5, 0.4, 0.3), start=1):
        samples.append(Sample("laLoad", str(i), load, "gauge"))
    samples += [
        Sample("hrStorageSize", "31", 1_000_000, "integer"),
        Sample("hrStorageUsed", "31", 400_000 + seq, "integer"),
        Sample("hrStorageAllocationUnits", "31", 4096, "integer"),
    ]
    props.append(Prop("hrStorageDescr", "31", "/"))
    return DevicePoll(
        device=device,
        address="127.0.0.1",
        ts=ts,
        sys_uptime=100_000 + int(elapsed * 100),
        modules=["system", "interfaces", "host"],
        samples=samples,
        props=props,
    )
