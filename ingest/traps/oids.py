"""OID -> name translation for traps, in process and offline.

Why a flat table: a trap carries a handful of OIDs and the receiver must keep
up with thousands of traps a second, so translation is a dictionary lookup on
the longest known prefix (``1.3.6.1.2.1.2.2.1.8.3`` -> ``ifOperStatus.3``),
cached. The table starts from a built-in set (the generic traps, SNMPv2-MIB
and the IF-MIB varbinds every linkUp/linkDown carries) and is extended, when
they load, from compiled MIBs: the IETF modules of ``pysnmp-mibs`` and the OID map the
project compiles itself (``ingest/mibs/oids.json``). Enterprise traps are
named when their MIB is among them; otherwise the numeric OID is kept.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["BUILTIN", "DEFAULT_MODULES", "OidNames", "load_mib_names"]

log = logging.getLogger(__name__)

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ENTERPRISE = "1.3.6.1.6.3.1.1.4.3.0"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"
SNMP_TRAPS = "1.3.6.1.6.3.1.1.5"  # generic traps: snmpTraps.(generic + 1)

BUILTIN: dict[str, str] = {
    "1.3.6.1.2.1.1.1": "sysDescr",
    "1.3.6.1.2.1.1.2": "sysObjectID",
    "1.3.6.1.2.1.1.3": "sysUpTime",
    "1.3.6.1.2.1.1.4": "sysContact",
    "1.3.6.1.2.1.1.5": "sysName",
    "1.3.6.1.2.1.1.6": "sysLocation",
    "1.3.6.1.6.3.1.1.4.1": "snmpTrapOID",
    "1.3.6.1.6.3.1.1.4.3": "snmpTrapEnterprise",
    "1.3.6.1.6.3.18.1.3": "snmpTrapAddress",
    "1.3.6.1.6.3.18.1.4": "snmpTrapCommunity",
    "1.3.6.1.6.3.1.1.5.1": "coldStart",
    "1.3.6.1.6.3.1.1.5.2": "warmStart",
    "1.3.6.1.6.3.1.1.5.3": "linkDown",
    "1.3.6.1.6.3.1.1.5.4": "linkUp",
    "1.3.6.1.6.3.1.1.5.5": "authenticationFailure",
    "1.3.6.1.6.3.1.1.5.6": "egpNeighborLoss",
    "1.3.6.1.2.1.2.2.1.1": "ifIndex",
    "1.3.6.1.2.1.2.2.1.2": "ifDescr",
    "1.3.6.1.2.1.2.2.1.3": "ifType",
    "1.3.6.1.2.1.2.2.1.7": "ifAdminStatus",
    "1.3.6.1.2.1.2.2.1.8": "ifOperStatus",
    "1.3.6.1.2.1.31.1.1.1.1": "ifName",
    "1.3.6.1.2.1.31.1.1.1.18": "ifAlias",
    "1.3.6.1.4.1.8072.4.0.1": "nsNotifyStart",
    "1.3.6.1.4.1.8072.4.0.2": "nsNotifyShutdown",
    "1.3.6.1.4.1.8072.4.0.3": "nsNotifyRestart",
    "1.3.6.1.4.1.8072.2.3.0.1": "netSnmpExampleHeartbeatNotification",
    "1.3.6.1.4.1.8072.2.3.2.1": "netSnmpExampleHeartbeatRate",
}

# IETF modules whose notifications and objects show up in traps; loaded when present.
DEFAULT_MODULES = (
    "SNMPv2-MIB",
    "IF-MIB",
    "HOST-RESOURCES-MIB",
    "ENTITY-MIB",
    "BGP4-MIB",
    "OSPF-TRAP-MIB",
    "RMON-MIB",
    "BRIDGE-MIB",
    "UPS-MIB",
    "DISMAN-EVENT-MIB",
    "NOTIFICATION-LOG-MIB",
    "NET-SNMP-AGENT-MIB",
    "UCD-SNMP-MIB",
    "LLDP-MIB",
)


SHIPPED_MAP = Path(__file__).resolve().parent.parent / "mibs" / "oids.json"


def _pysnmp_mibs_dir() -> Path | None:
    try:
        import pysnmp_mibs  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - declared dependency
        log.warning("pysnmp-mibs is not installed; only built-in and shipped trap names are known")
        return None
    return Path(os.path.dirname(pysnmp_mibs.__file__))


def _shipped_names(path: Path = SHIPPED_MAP) -> dict[str, str]:
    """The project's compiled OID map (``MODULE::name`` -> {"oid": ...}), when present."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.debug("no shipped OID map at %s: %s", path, exc)
        return {}
    names: dict[str, str] = {}
    for key, entry in data.items():
        name = key.split("::", 1)[-1]
        if isinstance(entry, dict) and isinstance(entry.get("oid"), str) and name != "PYSNMP_MODULE_ID":
            names[entry["oid"]] = name
    return names


def load_mib_names(modules: Iterable[str] = DEFAULT_MODULES) -> dict[str, str]:
    """Names of every object and notification in the compiled MIBs that load.

    pysnmp-mibs' IETF modules first, then the project's own compiled map
    (``ingest/mibs/oids.json``: LLDP, UCD-DISKIO, ...). A module that is
    missing or fails to load is logged and skipped: names are a convenience,
    never a reason for the receiver not to start.
    """
    from pysnmp.smi import builder

    names: dict[str, str] = {}
    source = _pysnmp_mibs_dir()
    if source is not None:
        mib = builder.MibBuilder()
        mib.add_mib_sources(builder.DirMibSource(str(source)))
        for name in modules:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # pysnmp-mibs uses old names
                    mib.load_modules(name)
            except Exception as exc:  # pysnmp raises many kinds here
                log.debug("MIB %s not loaded: %s", name, exc)
        for symbols in mib.mibSymbols.values():
            for sym, obj in symbols.items():
                oid = getattr(obj, "name", None)
                if isinstance(oid, tuple) and oid and hasattr(obj, "getName") and sym != "PYSNMP_MODULE_ID":
                    names[".".join(map(str, oid))] = sym
    names.update(_shipped_names())
    return names


class OidNames:
    """Longest-prefix OID -> ``name[.index]`` translation with a bounded cache."""

    def __init__(self, table: Mapping[str, str] | None = None, *, cache_size: int = 65536) -> None:
        self._table: dict[str, str] = dict(BUILTIN)
        if table:
            self._table.update(table)
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size

    @classmethod
    def with_mibs(cls) -> OidNames:
        return cls(load_mib_names())

    def __len__(self) -> int:
        return len(self._table)

    def name(self, oid: str) -> str:
        """``ifOperStatus.3`` for a known prefix, the numeric OID itself otherwise."""
        hit = self._cache.get(oid)
        if hit is not None:
            return hit
        result = oid
        prefix = oid
        while True:
            base = self._table.get(prefix)
            if base is not None:
                result = base + oid[len(prefix) :]
                break
            cut = prefix.rfind(".")
            if cut <= 0:
                break
            prefix = prefix[:cut]
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[oid] = result
        return result

    def exact(self, oid: str) -> str:
        """The name only when the OID itself is in the table (trap OIDs), else ""."""
        return self._table.get(oid, "")
