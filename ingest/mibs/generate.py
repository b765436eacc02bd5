"""Generate ``ingest/mibs/oids.json``: the offline MIB name <-> OID map.

Why generated and committed (snmp_exporter's generator): the poller and the
operator tools must resolve names with no network and no MIB compiler at run
time, and the hot path must use numeric OIDs. This script loads the MIBs the
project ships -- the precompiled IETF modules of ``pysnmp-mibs`` (IF-MIB,
HOST-RESOURCES-MIB, UCD-SNMP-MIB, RMON-MIB, SNMPv2-MIB and the TCs they import)
plus the text modules in ``ingest/mibs/src`` (UCD-DISKIO-MIB from net-snmp, an
LLDP-MIB subset) -- and writes one sorted JSON file. The unit test
``test_snmp_mibs.py`` regenerates it and fails on any difference.

Run: ``.venv/bin/python -m ingest.mibs.generate`` (``--check`` to compare only).

pysmi could not compile the text modules here (it needs SNMPv2-SMI/TC sources,
which nothing on these machines ships), so the few OBJECT-TYPE/OBJECT
IDENTIFIER forms they use are read by the small parser below.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["MODULES", "OUTPUT", "generate"]

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "oids.json"
MODULES = ("SNMPv2-MIB", "IF-MIB", "HOST-RESOURCES-MIB", "HOST-RESOURCES-TYPES", "UCD-SNMP-MIB", "RMON-MIB")
TEXT_MODULES = ("UCD-DISKIO-MIB", "LLDP-MIB")

_BASES = ("Counter32", "Counter64", "Gauge32", "Unsigned32", "TimeTicks", "Integer32", "IpAddress",
          "Opaque", "Bits", "ObjectIdentifier", "OctetString", "Integer")  # fmt: skip
_TEXT_TCS = {"DisplayString", "SnmpAdminString", "OwnerString"}
_TEXT_TYPES = {
    "INTEGER": "Integer32",
    "OCTET STRING": "OctetString",
    "DisplayString": "OctetString",
    "SnmpAdminString": "OctetString",
    "CounterBasedGauge64": "Counter64",
}


def _syntax(obj: Any) -> tuple[str, bool]:
    """(base wire type, is human text) of a pysnmp MIB object's syntax."""
    names = [c.__name__ for c in type(obj.getSyntax()).__mro__]
    base = next((n for n in names if n in _BASES), names[0])
    return ("Integer32" if base == "Integer" else base), bool(_TEXT_TCS & set(names))


def _from_pysnmp(entries: dict[str, dict[str, Any]]) -> None:
    import pysnmp_mibs
    from pysnmp.smi import builder

    mb = builder.MibBuilder()
    mb.add_mib_sources(builder.DirMibSource(os.path.dirname(pysnmp_mibs.__file__)))
    with warnings.catch_warnings():  # pysnmp-mibs uses pysnmp's deprecated camelCase names
        warnings.simplefilter("ignore", DeprecationWarning)
        mb.load_modules(*MODULES)
    for module in MODULES:
        for name, obj in sorted(mb.mibSymbols[module].items()):
            if not hasattr(obj, "getName") or not isinstance(obj.getName(), tuple):
                continue
            kind = type(obj).__name__
            entry: dict[str, Any] = {"oid": ".".join(map(str, obj.getName())), "module": module}
            if kind in ("MibScalar", "MibTableColumn"):
                entry["type"], entry["text"] = _syntax(obj)
                entry["node"] = "scalar" if kind == "MibScalar" else "column"
            elif kind in ("MibTable", "MibTableRow"):
                entry["node"] = "table" if kind == "MibTable" else "row"
            elif kind in ("NotificationType",):
                entry["node"] = "notification"
            else:
                entry["node"] = "node"
            entries[f"{module}::{name}"] = entry


_DEF = re.compile(
    r"^(?P<name>[a-z][\w-]*)\s+(?P<macro>OBJECT-TYPE|MODULE-IDENTITY|OBJECT IDENTIFIER|OBJECT-IDENTITY)"
    r"(?P<body>.*?)::=\s*\{(?P<oid>[^}]*)\}",
    re.S | re.M,
)


def _from_text(module: str, text: str, entries: dict[str, dict[str, Any]]) -> None:
    known = {k.split("::", 1)[1]: v["oid"] for k, v in entries.items()}
    known["iso"] = "1"
    text = re.sub(r"--[^\n]*", "", text)
    for m in _DEF.finditer(text):
        parts = m["oid"].split()
        parent, arcs = parts[0], [re.sub(r".*\((\d+)\)", r"\1", p) for p in parts[1:]]
        if parent not in known:
            raise SystemExit(f"{module}: {m['name']} has unknown parent {parent}")
        oid = ".".join([known[parent], *arcs])
        known[m["name"]] = oid
        entry: dict[str, Any] = {"oid": oid, "module": module, "node": "node"}
        syntax = re.search(r"SYNTAX\s+(SEQUENCE OF|OCTET STRING|[\w-]+)", m["body"])
        if m["macro"] == "OBJECT-TYPE" and syntax:
            word = syntax[1]
            if word == "SEQUENCE OF":
                entry["node"] = "table"
            elif word[0].isupper() and word not in _TEXT_TYPES and word not in _BASES and "Entry" in word:
                entry["node"] = "row"
            else:
                entry["type"] = _TEXT_TYPES.get(word, word if word in _BASES else "OctetString")
                entry["text"] = word in _TEXT_TCS
                parent_node = entries.get(f"{module}::{parent}", {}).get("node")
                entry["node"] = "column" if parent_node == "row" else "scalar"
        entries[f"{module}::{m['name']}"] = entry


def generate() -> str:
    entries: dict[str, dict[str, Any]] = {}
    _from_pysnmp(entries)
    for module in TEXT_MODULES:
        _from_text(module, (HERE / "src" / f"{module}.txt").read_text(), entries)
    return json.dumps(dict(sorted(entries.items())), indent=0, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        same = OUTPUT.exists() and OUTPUT.read_text() == text
        sys.stderr.write("oids.json is up to date\n" if same else "oids.json differs: regenerate it\n")
        return 0 if same else 1
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
