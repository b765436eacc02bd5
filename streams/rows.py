"""Records -> database rows. Pure, so the sink's I/O shell stays thin.

Samples go to PostgreSQL as a hand-built binary COPY stream. The worker
builds it from columns with one numpy structured array
(:func:`encode_copy_columns`): no Python work per row, where one
``struct.pack`` per row (:func:`encode_samples_copy`, the reference and what
the benchmark's COPY limit uses) costs ~0.5 us a row and psycopg's
``write_row`` several times more (see bench/bench_pipeline.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from netvigil.records import DevicePoll, PingResult, SyslogMessage, Trap

__all__ = [
    "COPY_HEADER",
    "COPY_TRAILER",
    "SampleRow",
    "device_info",
    "encode_copy_columns",
    "encode_samples_copy",
    "interface_rows",
    "lldp_rows",
    "msg_hash",
    "pg_micros",
    "ping_row",
    "syslog_row",
    "to_datetime",
    "trap_row",
]

PG_EPOCH = 946684800.0  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp origin
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
_ROW = struct.Struct(">hiiiqid")  # 4 fields; int4 series_id; int8 ts (us); float8 value
_NULL = struct.pack(">i", -1)

SampleRow = tuple[int, float, float, str | None]  # series_id, epoch seconds, value, flag


def encode_samples_copy(rows: Iterable[SampleRow]) -> bytes:
    """A complete binary COPY stream for metric_samples (series_id, ts, value, flag)."""
    pack = _ROW.pack
    parts = [COPY_HEADER]
    append = parts.append
    for sid, ts, value, flag in rows:
        append(pack(4, 4, sid, 8, round((ts - PG_EPOCH) * 1e6), 8, value))
        if flag is None:
            append(_NULL)
        else:
            raw = flag.encode()
            append(struct.pack(">i", len(raw)) + raw)
    append(COPY_TRAILER)
    return b"".join(parts)


# One row without a flag, as PostgreSQL reads it: field count, then (length, value) per field.
_COPY_ROW = np.dtype(
    [
        ("n", ">i2"),
        ("sid_len", ">i4"),
        ("sid", ">i4"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f8"),
        ("flag_len", ">i4"),
    ]
)
_FIXED = np.array([(4, 4, 0, 8, 0, 8, 0.0, -1)], dtype=_COPY_ROW)


def pg_micros(ts: float) -> int:
    """Epoch seconds -> PostgreSQL timestamp microseconds (as the reference encoder rounds)."""
    return round((ts - PG_EPOCH) * 1e6)


def encode_copy_columns(
    ids: npt.ArrayLike, ts_us: npt.ArrayLike, values: npt.ArrayLike, flags: Mapping[int, str] | None = None
) -> bytes:
    """The same stream as :func:`encode_samples_copy`, from columns, without a loop over rows.

    ``ts_us`` are PostgreSQL microseconds (:func:`pg_micros`); ``flags`` maps a
    row index to its flag (rows absent have none). Flagged rows are rare
    (rates above the interface speed): they are spliced in as bytes.
    """
    sid = np.asarray(ids, dtype=np.int64)
    rows = np.repeat(_FIXED, len(sid))
    rows["sid"] = sid
    rows["ts"] = ts_us
    rows["value"] = values
    if not flags:
        return b"".join((COPY_HEADER, rows.tobytes(), COPY_TRAILER))
    raw = memoryview(rows.tobytes())
    size, cut = _COPY_ROW.itemsize, _COPY_ROW.itemsize - 4
    parts: list[bytes | memoryview] = [COPY_HEADER]
    pos = 0
    for i in sorted(flags):
        flag = flags[i].encode()
        parts += [raw[pos : i * size + cut], struct.pack(">i", len(flag)), flag]
        pos = (i + 1) * size
    parts += [raw[pos:], COPY_TRAILER]
    return b"".join(parts)


def to_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def msg_hash(payload: bytes) -> bytes:
    """The event's natural key: sha1 of the Kafka message value as produced."""
    return hashlib.sha1(payload, usedforsecurity=False).digest()


def ping_row(p: PingResult) -> tuple[object, ...]:
    return (
        p.device,
        to_datetime(p.ts),
        p.address,
        p.sent,
        p.received,
        p.loss_pct,
        p.rtt_min_ms,
        p.rtt_avg_ms,
        p.rtt_max_ms,
        p.jitter_ms,
    )


def trap_row(t: Trap, payload: bytes) -> tuple[object, ...]:
    return (
        to_datetime(t.ts),
        msg_hash(payload),
        t.source,
        t.device,
        t.version,
        t.security_name,
        t.inform,
        t.trap_oid,
        t.trap_name,
        t.uptime,
        msgspec.json.encode(
            [{"oid": v.oid, "name": v.name, "type": v.type, "value": v.value} for v in t.varbinds]
        ).decode(),
    )


def syslog_row(m: SyslogMessage, payload: bytes) -> tuple[object, ...]:
    return (
        to_datetime(m.ts),
        msg_hash(payload),
        m.source,
        m.device,
        m.transport,
        m.format,
        m.facility,
        m.severity,
        # the message's own clock may be anything; beyond year 9999 it is not a time
        to_datetime(m.timestamp) if m.timestamp is not None and 0 <= m.timestamp < 253402300800 else None,
        m.hostname,
        m.app,
        m.procid,
        m.msgid,
        msgspec.json.encode(m.structured_data).decode(),
        m.message.replace("\x00", ""),
        m.raw.replace("\x00", ""),
    )


def _props(poll: DevicePoll) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for p in poll.props:
        out.setdefault(p.name, {})[p.instance] = p.text
    return out


def device_info(poll: DevicePoll) -> tuple[str | None, str | None, str | None]:
    """(sysName, sysDescr, sysObjectID) from the poll's props, None where absent."""
    props = _props(poll)
    return tuple(props.get(n, {}).get("") for n in ("sysName", "sysDescr", "sysObjectID"))  # type: ignore[return-value]


def interface_rows(poll: DevicePoll) -> list[tuple[object, ...]]:
    """(if_index, name, alias, descr, speed_bps, admin, oper) per interface in the poll."""
    props = _props(poll)
    num: dict[str, dict[str, float]] = {}
    for s in poll.samples:
        if s.metric in ("ifHighSpeed", "ifSpeed", "ifAdminStatus", "ifOperStatus"):
            num.setdefault(s.metric, {})[s.instance] = s.value
    indexes = set(props.get("ifName", {})) | set(props.get("ifDescr", {})) | set(num.get("ifOperStatus", {}))
    rows: list[tuple[object, ...]] = []
    for inst in sorted(indexes, key=lambda i: (len(i), i)):
        if not inst.isdigit():
            continue
        high = num.get("ifHighSpeed", {}).get(inst)
        speed = high * 1e6 if high else num.get("ifSpeed", {}).get(inst)
        admin = num.get("ifAdminStatus", {}).get(inst)
        oper = num.get("ifOperStatus", {}).get(inst)
        rows.append(
            (
                int(inst),
                props.get("ifName", {}).get(inst),
                props.get("ifAlias", {}).get(inst),
                props.get("ifDescr", {}).get(inst),
                speed,
                int(admin) if admin is not None else None,
                int(oper) if oper is not None else None,
            )
        )
    return rows


def lldp_rows(poll: DevicePoll) -> list[tuple[str, str, str | None, str | None]]:
    """(local_port, remote_chassis, remote_sys_name, remote_port) per LLDP neighbour.

    The instance is "localPortNum.remIndex" (the time mark is dropped by the collector).
    """
    props = _props(poll)
    chassis = props.get("lldpRemChassisId", {})
    rows: dict[tuple[str, str], tuple[str, str, str | None, str | None]] = {}
    for inst, remote in sorted(chassis.items()):
        local = inst.split(".")[0]
        port = props.get("lldpRemPortId", {}).get(inst) or props.get("lldpRemPortDesc", {}).get(inst)
        rows[(local, remote)] = (local, remote, props.get("lldpRemSysName", {}).get(inst), port)
    return list(rows.values())


def changed(cache: dict[str, int], key: str, rows: Sequence[object]) -> bool:
    """True (and remember) when ``rows`` differ from what was last written for ``key``."""
    h = hash(tuple(rows))
    if cache.get(key) == h:
        return False
    cache[key] = h
    return True
