"""Offline MIB names: ``IF-MIB::ifHCInOctets.3`` <-> ``1.3.6.1.2.1.31.1.1.1.6.3``.

Reads the committed map ``ingest/mibs/oids.json`` (see ``ingest.mibs.generate``)
once; no MIB compiler, no network. Only the CLI and module definitions use
names: the poller's hot path works on numeric OIDs resolved at start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["MibError", "MibObject", "lookup", "name_of", "resolve"]

_MAP = Path(__file__).resolve().parent.parent / "mibs" / "oids.json"


class MibError(ValueError):
    """A name that none of the shipped MIBs defines."""


@dataclass(frozen=True, slots=True)
class MibObject:
    module: str
    name: str
    oid: str
    node: str  # scalar | column | table | row | notification | node
    type: str | None = None  # base wire type (Counter64, OctetString, ...)
    text: bool = False  # an OctetString meant to be read as text


@dataclass(frozen=True, slots=True)
class _Index:
    by_full: dict[str, MibObject]
    by_short: dict[str, MibObject]
    by_oid: dict[str, MibObject]


@cache
def _index() -> _Index:
    raw = json.loads(_MAP.read_text())
    by_full: dict[str, MibObject] = {}
    by_short: dict[str, MibObject] = {}
    by_oid: dict[str, MibObject] = {}
    for full, e in raw.items():
        module, name = full.split("::", 1)
        obj = MibObject(module, name, e["oid"], e["node"], e.get("type"), bool(e.get("text")))
        by_full[full] = obj
        by_short.setdefault(name, obj)
        by_oid.setdefault(obj.oid, obj)
    return _Index(by_full, by_short, by_oid)


def lookup(name: str) -> MibObject:
    """The object called ``name`` (``MODULE::name`` or a bare name)."""
    idx = _index()
    obj = idx.by_full.get(name) if "::" in name else idx.by_short.get(name)
    if obj is None:
        raise MibError(f"unknown MIB object {name!r} (shipped MIBs: see ingest/mibs/oids.json)")
    return obj


def resolve(text: str) -> str:
    """Numeric OID for ``1.3.6...``, ``.1.3.6...``, ``sysUpTime.0`` or ``IF-MIB::ifDescr.2``."""
    text = text.strip()
    if text.lstrip(".")[:1].isdigit():
        oid = text.lstrip(".")
        if not all(p.isdigit() for p in oid.split(".")):
            raise MibError(f"not a numeric OID: {text!r}")
        return oid
    module, _, rest = text.rpartition("::")
    name, _, suffix = rest.partition(".")
    obj = lookup(f"{module}::{name}" if module else name)
    if suffix and not all(p.isdigit() for p in suffix.split(".")):
        raise MibError(f"bad instance suffix in {text!r}")
    return f"{obj.oid}.{suffix}" if suffix else obj.oid


def name_of(oid: str) -> tuple[MibObject | None, str]:
    """(object, instance suffix) for the longest known prefix of ``oid``."""
    by_oid = _index().by_oid
    parts = oid.split(".")
    for cut in range(len(parts), 1, -1):
        obj = by_oid.get(".".join(parts[:cut]))
        if obj is not None:
            return obj, ".".join(parts[cut:])
    return None, oid
