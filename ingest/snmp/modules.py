"""What to poll, by module, kept apart from credentials and targets (snmp_exporter's ``modules``).

Modules are written with MIB object names, for people; they are resolved once,
offline, to numeric OIDs through :mod:`ingest.snmp.mib`, so the poll path only
compares numeric strings. Every sample and property is named by its MIB object
name, exactly: the stream computes rates from these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from ingest.snmp.mib import lookup

__all__ = ["MODULE_NAMES", "Column", "Module", "Walk", "get_module", "get_modules"]


@dataclass(frozen=True, slots=True)
class Column:
    """One object we keep. ``text`` values become Props; others Samples."""

    name: str
    oid: str
    text: bool
    parse_float: bool = False  # UCD laLoad is a DisplayString such as "0.15"
    drop_index: int = 0  # leading index arcs not part of the instance (lldpRemTimeMark)


@dataclass(frozen=True, slots=True)
class Walk:
    """A subtree to walk; ``depth`` = arcs between the root and a column OID (2 for a table, 0 for a column)."""

    root: str
    depth: int
    columns: dict[str, Column]  # column oid -> Column


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    gets: dict[str, tuple[Column, str]] = field(default_factory=dict)  # instance oid -> (column, instance)
    walks: tuple[Walk, ...] = ()


def _col(name: str, *, parse_float: bool = False, drop_index: int = 0) -> Column:
    obj = lookup(name)
    text = obj.text or obj.type in ("ObjectIdentifier",) or (obj.type == "OctetString" and not parse_float)
    return Column(obj.name, obj.oid, text and not parse_float, parse_float, drop_index)


def _table(table: str, names: list[str], *, drop_index: int = 0) -> Walk:
    cols = {c.oid: c for c in (_col(n, drop_index=drop_index) for n in names)}
    return Walk(lookup(table).oid, 2, cols)


def _column(name: str) -> Walk:
    c = _col(name)
    return Walk(c.oid, 0, {c.oid: c})


def _gets(*items: tuple[str, str], parse_float: bool = False) -> dict[str, tuple[Column, str]]:
    out: dict[str, tuple[Column, str]] = {}
    for name, instance in items:
        c = _col(name, parse_float=parse_float)
        out[f"{c.oid}.{instance}"] = (c, "" if instance == "0" else instance)
    return out


_IF = ["ifDescr", "ifSpeed", "ifAdminStatus", "ifOperStatus", "ifInOctets", "ifOutOctets",
       "ifInErrors", "ifOutErrors", "ifInDiscards", "ifOutDiscards"]  # fmt: skip
_IFX = ["ifName", "ifAlias", "ifHighSpeed", "ifHCInOctets", "ifHCOutOctets", "ifHCInUcastPkts",
        "ifHCOutUcastPkts", "ifHCInMulticastPkts", "ifHCOutMulticastPkts", "ifHCInBroadcastPkts",
        "ifHCOutBroadcastPkts"]  # fmt: skip
_SS = ["ssCpuRawUser", "ssCpuRawNice", "ssCpuRawSystem", "ssCpuRawWait", "ssCpuRawIdle",
       "ssCpuRawKernel", "ssCpuRawInterrupt", "ssCpuRawSoftIRQ"]  # fmt: skip
_MEM = ["memTotalReal", "memAvailReal", "memBuffer", "memCached", "memTotalSwap", "memAvailSwap"]
_DISKIO = ["diskIODevice", "diskIONReadX", "diskIONWrittenX", "diskIOReads", "diskIOWrites", "diskIOBusyTime"]
_ETHER = ["etherStatsOctets", "etherStatsPkts", "etherStatsBroadcastPkts", "etherStatsMulticastPkts",
          "etherStatsCRCAlignErrors", "etherStatsUndersizePkts", "etherStatsOversizePkts",
          "etherStatsFragments", "etherStatsJabbers", "etherStatsCollisions", "etherStatsDropEvents"]  # fmt: skip


@cache
def _registry() -> dict[str, Module]:
    system = Module(
        "system", gets=_gets(("sysUpTime", "0"), ("sysName", "0"), ("sysDescr", "0"), ("sysObjectID", "0"))
    )
    interfaces = Module("interfaces", walks=(_table("ifTable", _IF), _table("ifXTable", _IFX)))
    host = Module(
        "host",
        gets={
            **_gets(("laLoad", "1"), ("laLoad", "2"), ("laLoad", "3"), parse_float=True),
            **_gets(*((n, "0") for n in _SS + _MEM)),
        },
        walks=(
            _column("hrProcessorLoad"),
            _table(
                "hrStorageTable",
                [
                    "hrStorageDescr",
                    "hrStorageType",
                    "hrStorageAllocationUnits",
                    "hrStorageSize",
                    "hrStorageUsed",
                ],
            ),
            _table("diskIOTable", _DISKIO),
        ),
    )
    rmon = Module("rmon", walks=(_table("etherStatsTable", _ETHER),))
    lldp = Module(
        "lldp",
        walks=(
            _table(
                "lldpRemTable",
                ["lldpRemChassisId", "lldpRemPortId", "lldpRemPortDesc", "lldpRemSysName"],
                drop_index=1,
            ),
        ),
    )
    return {m.name: m for m in (system, interfaces, host, rmon, lldp)}


MODULE_NAMES = ("system", "interfaces", "host", "rmon", "lldp")


def get_module(name: str) -> Module:
    try:
        return _registry()[name]
    except KeyError:
        raise ValueError(f"unknown poll module {name!r}; one of {', '.join(MODULE_NAMES)}") from None


def get_modules(names: list[str]) -> list[Module]:
    """The modules of a device; "system" always comes first (it carries sysUpTime)."""
    ordered = ["system", *[n for n in names if n != "system"]]
    return [get_module(n) for n in dict.fromkeys(ordered)]
