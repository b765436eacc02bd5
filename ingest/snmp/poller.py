"""One poll of one device -> one :class:`~netvigil.records.DevicePoll`.

The mapping from varbinds to samples and props is a pure function
(:func:`map_varbinds`), unit-tested with a fake transport; :func:`poll_device`
is the thin shell that asks the transport and never raises: a dead device is an
``unreachable`` record, a walk that fails makes the record ``partial``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from ingest.snmp.ber import VarBind
from ingest.snmp.modules import Column, Module, get_modules
from ingest.snmp.transport import SnmpError, SnmpTimeout, Transport
from netvigil.inventory import Device
from netvigil.records import DevicePoll, Prop, Sample

__all__ = ["KINDS", "format_text", "map_varbinds", "poll_device"]

log = logging.getLogger(__name__)

KINDS = {
    "Counter32": "counter32",
    "Counter64": "counter64",
    "Gauge32": "gauge",
    "TimeTicks": "timeticks",
    "INTEGER": "integer",
}
# 32-bit counters kept only for interfaces that have no 64-bit counterpart.
_HC_FALLBACK = {"ifInOctets": "ifHCInOctets", "ifOutOctets": "ifHCOutOctets"}


def format_text(type_name: str, value: Any) -> str:
    """Text of a value: UTF-8 strings as they are, binary (MACs) as aa:bb:..."""
    if isinstance(value, bytes):
        try:
            text = value.decode()
        except UnicodeDecodeError:
            return ":".join(f"{b:02x}" for b in value)
        if text.isprintable() or not text:
            return text
        return (
            ":".join(f"{b:02x}" for b in value)
            if len(value) <= 32
            else text.encode("unicode_escape").decode()
        )
    return "" if value is None else str(value)


def _one(col: Column, instance: str, vb: VarBind, samples: list[Sample], props: list[Prop]) -> None:
    _, type_name, value = vb
    if col.text:
        props.append(Prop(col.name, instance, format_text(type_name, value)))
    elif col.parse_float:
        try:
            samples.append(Sample(col.name, instance, float(format_text(type_name, value)), "gauge"))
        except ValueError:
            log.debug("%s.%s is not a number: %r", col.name, instance, value)
    elif type_name in KINDS:
        samples.append(Sample(col.name, instance, value, KINDS[type_name]))  # type: ignore[arg-type]
    elif type_name == "OCTET STRING":
        props.append(Prop(col.name, instance, format_text(type_name, value)))


def map_varbinds(
    modules: Iterable[Module], gets: list[VarBind], walks: dict[str, list[VarBind]]
) -> tuple[list[Sample], list[Prop], int | None]:
    """Samples, props and sysUpTime from the answers to the modules' requests."""
    samples: list[Sample] = []
    props: list[Prop] = []
    by_oid = {vb[0]: vb for vb in gets}
    for module in modules:
        for oid, (col, instance) in module.gets.items():
            vb = by_oid.get(oid)
            if vb is not None:
                _one(col, instance, vb, samples, props)
        for walk in module.walks:
            cut = len(walk.root.split(".")) + walk.depth
            for vb in walks.get(walk.root, ()):
                parts = vb[0].split(".")
                wcol = walk.columns.get(".".join(parts[:cut]))
                if wcol is not None:
                    _one(wcol, ".".join(parts[cut + wcol.drop_index :]), vb, samples, props)
    have = {(s.metric, s.instance) for s in samples}
    samples = [
        s for s in samples if not (s.metric in _HC_FALLBACK and (_HC_FALLBACK[s.metric], s.instance) in have)
    ]
    uptime = next((int(s.value) for s in samples if s.metric == "sysUpTime"), None)
    return samples, props, uptime


async def poll_device(device: Device, transport: Transport, *, now: float | None = None) -> DevicePoll:
    """Poll every module of ``device``; never raises."""
    started = time.perf_counter()
    ts = time.time() if now is None else now
    modules = get_modules(device.modules)
    errors: list[str] = []
    gets: list[VarBind] = []
    walks: dict[str, list[VarBind]] = {}
    answered = False
    get_oids = [oid for m in modules for oid in m.gets]
    try:
        gets = await transport.get(get_oids)
        answered = True
    except SnmpTimeout as exc:
        return _unreachable(device, ts, started, str(exc))
    except SnmpError as exc:
        errors.append(f"get: {exc}")
    for module in modules:
        for walk in module.walks:
            try:
                walks[walk.root] = await transport.walk(walk.root)
                answered = True
            except SnmpTimeout as exc:
                if not answered:
                    return _unreachable(device, ts, started, str(exc))
                errors.append(f"{module.name} walk {walk.root}: {exc}")
            except SnmpError as exc:
                errors.append(f"{module.name} walk {walk.root}: {exc}")
    samples, props, uptime = map_varbinds(modules, gets, walks)
    return DevicePoll(
        device=device.name,
        address=device.address,
        ts=ts,
        status="partial" if errors else "ok",
        error="; ".join(errors)[:2000] if errors else None,
        sys_uptime=uptime,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        modules=[m.name for m in modules],
        samples=samples,
        props=props,
    )


def _unreachable(device: Device, ts: float, started: float, error: str) -> DevicePoll:
    return DevicePoll(
        device=device.name,
        address=device.address,
        ts=ts,
        status="unreachable",
        error=error,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        modules=list(device.modules),
    )
