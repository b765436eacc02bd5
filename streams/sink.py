"""PostgreSQL writer of the worker: one transaction per consumed batch.

What one :class:`WriteSet` holds is written atomically -- samples, the
devices' rate state, pings, traps, syslog, device status -- so the Kafka
offsets committed after it are never ahead of the database.

Samples take a fast path: binary COPY straight into ``metric_samples``. It is
safe because a replayed poll is recognised by its rate state (written in the
same transaction) and produces no rows. If rows collide anyway (two workers
both processed a device during a rebalance) the transaction is retried
through a temporary staging table and ``INSERT ... ON CONFLICT DO NOTHING``.
Events (traps, syslog, pings) always use ``ON CONFLICT DO NOTHING`` on their
natural keys.

Errors propagate: the pipeline owns retries, back-off and reconnection.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
import psycopg

from netvigil.records import MetricBatch
from netvigil.settings import Settings, mask_url
from streams.monitoring import ROWS_WRITTEN, WRITE_SECONDS
from streams.rates import DeviceState, flag_key
from streams.rows import encode_copy_columns, pg_micros
from streams.series import Ids, SeriesCache

__all__ = ["SeriesKey", "Sink", "WriteSet"]

log = logging.getLogger(__name__)

SeriesKey = tuple[str, str, str]  # device, metric, instance


@dataclass
class WriteSet:
    """Everything one consumed batch writes, prepared before the transaction."""

    # Derived values, as the rates stage made them: one MetricBatch per poll (or ping), no
    # per-sample copy. ``series_ids[i]`` (filled by the sink) are the ids of ``batches[i]``.
    batches: list[MetricBatch] = field(default_factory=list)
    series_ids: list[Ids] = field(default_factory=list)
    states: dict[str, DeviceState] = field(default_factory=dict)
    pings: list[tuple[object, ...]] = field(default_factory=list)
    traps: list[tuple[object, ...]] = field(default_factory=list)
    syslogs: list[tuple[object, ...]] = field(default_factory=list)
    devices: dict[str, tuple[str, float]] = field(default_factory=dict)  # name -> (status, ts)
    sysinfo: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    interfaces: dict[str, list[tuple[object, ...]]] = field(default_factory=dict)
    lldp: dict[str, list[tuple[str, str, str | None, str | None]]] = field(default_factory=dict)

    @property
    def sample_count(self) -> int:
        return sum(len(b.metrics) for b in self.batches)

    def __len__(self) -> int:
        return self.sample_count + len(self.pings) + len(self.traps) + len(self.syslogs) + len(self.devices)


_PING_SQL = (
    "INSERT INTO ping_results (device, ts, address, sent, received, loss_pct, rtt_min_ms, rtt_avg_ms,"
    " rtt_max_ms, jitter_ms) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING"
)
_TRAP_SQL = (
    "INSERT INTO traps (ts, msg_hash, source, device, version, security_name, inform, trap_oid, trap_name,"
    " uptime, varbinds) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s::jsonb) ON CONFLICT DO NOTHING"
)
_SYSLOG_SQL = (
    "INSERT INTO syslog_messages (ts, msg_hash, source, device, transport, format, facility, severity,"
    " msg_ts, hostname, app, procid, msgid, structured_data, message, raw)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s) ON CONFLICT DO NOTHING"
)
_STATE_SQL = (
    "INSERT INTO stream_rate_state (device, ts, state) SELECT * FROM unnest(%s::text[], %s::float8[], %s::bytea[])"
    " ON CONFLICT (device) DO UPDATE SET ts = excluded.ts, state = excluded.state, updated_at = now()"
    " WHERE stream_rate_state.ts < excluded.ts"
)
_DEVICE_SQL = (
    "UPDATE devices d SET status = u.status, last_seen = CASE WHEN u.status IN ('up', 'partial')"
    " THEN to_timestamp(u.ts) ELSE d.last_seen END, updated_at = now()"
    " FROM unnest(%s::text[], %s::text[], %s::float8[]) AS u(name, status, ts) WHERE d.name = u.name"
)
_SYSINFO_SQL = (
    "UPDATE devices d SET sys_name = coalesce(u.sn, d.sys_name), sys_descr = coalesce(u.sd, d.sys_descr),"
    " sys_object_id = coalesce(u.so, d.sys_object_id)"
    " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS u(name, sn, sd, so) WHERE d.name = u.name"
)
_IF_SQL = (
    "INSERT INTO interfaces (device, if_index, name, alias, descr, speed_bps, admin_status, oper_status)"
    " SELECT %s, %s, %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM devices WHERE name = %s)"
    " ON CONFLICT (device, if_index) DO UPDATE SET name = excluded.name, alias = excluded.alias,"
    " descr = excluded.descr, speed_bps = excluded.speed_bps, admin_status = excluded.admin_status,"
    " oper_status = excluded.oper_status, updated_at = now()"
)
_LLDP_SQL = (
    "INSERT INTO lldp_neighbors (device, local_port, remote_chassis, remote_sys_name, remote_port)"
    " SELECT %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM devices WHERE name = %s)"
    " ON CONFLICT (device, local_port, remote_chassis) DO UPDATE SET remote_sys_name = excluded.remote_sys_name,"
    " remote_port = excluded.remote_port, updated_at = now()"
)
_COPY = "COPY {} (series_id, ts, value, flag) FROM STDIN (FORMAT BINARY)"


class Sink:
    """Owns one async PostgreSQL connection and the series-id cache (:mod:`streams.series`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.conn: psycopg.AsyncConnection | None = None
        self.read_conn: psycopg.AsyncConnection | None = None
        self.series = SeriesCache()
        self.phase_seconds: defaultdict[str, float] = defaultdict(
            float
        )  # series / copy / state / events (bench)

    async def _open(self, *, autocommit: bool) -> psycopg.AsyncConnection:
        try:
            return await psycopg.AsyncConnection.connect(
                self.settings.postgres.dsn, connect_timeout=5, autocommit=autocommit
            )
        except psycopg.OperationalError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise psycopg.OperationalError(
                f"cannot connect to {mask_url(self.settings.postgres.dsn)}: {first}"
            ) from None

    async def connect(self) -> psycopg.AsyncConnection:
        """The write connection (opened on first use and after a failure)."""
        if self.conn is not None and not self.conn.closed and not self.conn.broken:
            return self.conn
        self.conn = await self._open(autocommit=False)
        await self.conn.execute("CREATE TEMP TABLE nv_stage (LIKE metric_samples) ON COMMIT DELETE ROWS")
        await self.conn.commit()
        return self.conn

    async def close_reader(self) -> None:
        if self.read_conn is not None:
            await self.read_conn.close()
            self.read_conn = None

    async def close(self) -> None:
        """Close the write connection (the next write reconnects)."""
        if self.conn is not None:
            await self.conn.close()
            self.conn = None

    async def load_states(self, devices: Sequence[str]) -> dict[str, DeviceState]:
        """Rate states of ``devices``, on a connection of its own (reads overlap writes)."""
        if self.read_conn is None or self.read_conn.closed or self.read_conn.broken:
            self.read_conn = await self._open(autocommit=True)
        cur = await self.read_conn.execute(
            "SELECT device, state FROM stream_rate_state WHERE device = ANY(%s)", (list(devices),)
        )
        rows = await cur.fetchall()
        return {d: msgspec.msgpack.decode(s, type=DeviceState) for d, s in rows}

    async def resolve(self, batches: Sequence[MetricBatch]) -> list[Ids]:
        """The series ids of every batch's metrics, in order; missing series are inserted."""
        cache = self.series
        shapes = [
            (tuple([m.metric for m in b.metrics]), tuple([m.instance for m in b.metrics])) for b in batches
        ]
        out: list[Ids | None] = [cache.lookup(b.device, *sh) for b, sh in zip(batches, shapes, strict=True)]
        todo = [i for i, ids in enumerate(out) if ids is None]
        if todo:
            # Most misses are series PostgreSQL already has (a worker that just started or took over
            # partitions): fetch them by device, one short array, before inserting what is left.
            await self._load_series(list(dict.fromkeys(batches[i].device for i in todo)))
            for i in todo:
                out[i] = cache.lookup(batches[i].device, *shapes[i])
            todo = [i for i in todo if out[i] is None]
        if todo:
            units: dict[SeriesKey, str] = {}
            for i in todo:
                b = batches[i]
                want = set(cache.missing(b.device, *shapes[i]))
                for m in b.metrics:
                    if (m.metric, m.instance) in want:
                        units.setdefault((b.device, m.metric, m.instance), m.unit)
            found = await self._insert_series(units)
            per_device: dict[str, dict[tuple[str, str], int]] = {}
            for (dev, metric, inst), sid in found.items():
                per_device.setdefault(dev, {})[(metric, inst)] = sid
            for d, ids in per_device.items():
                cache.add(d, ids)
            for i in todo:
                out[i] = cache.ids_of(batches[i].device, *shapes[i])
        return [ids for ids in out if ids is not None]

    async def _load_series(self, devices: Sequence[str]) -> None:
        """Cache the ids of every series PostgreSQL has for ``devices``."""
        conn = await self.connect()
        async with conn.transaction():
            cur = await conn.execute(
                "SELECT device, metric, instance, id FROM series WHERE device = ANY(%s::text[])",
                (list(devices),),
                binary=True,
            )
            rows = await cur.fetchall()
        per_device: dict[str, dict[tuple[str, str], int]] = {}
        for d, metric, inst, sid in rows:
            per_device.setdefault(d, {})[(metric, inst)] = sid
        for d, ids in per_device.items():
            self.series.add(d, ids)

    async def _insert_series(self, units: dict[SeriesKey, str]) -> dict[SeriesKey, int]:
        """Insert the series not in PostgreSQL yet; the ids of all of ``units``.

        ``RETURNING`` gives the ids of the rows inserted; only series someone
        else inserted meanwhile (a conflict) are looked up afterwards.
        """
        if not units:
            return {}
        conn = await self.connect()
        missing = list(units)
        cols = list(zip(*missing, strict=True))
        dev, met, inst, unit = (
            text_array(c) for c in (cols[0], cols[1], cols[2], [units[k] for k in missing])
        )
        found: dict[SeriesKey, int] = {}
        async with conn.transaction():
            cur = await conn.execute(
                "INSERT INTO series (device, metric, instance, unit)"
                f" SELECT * FROM unnest({dev[0]}, {met[0]}, {inst[0]}, {unit[0]}) ON CONFLICT DO NOTHING"
                " RETURNING id, device, metric, instance",
                (dev[1], met[1], inst[1], unit[1]),
                binary=True,
            )
            for sid, d, m, i in await cur.fetchall():
                found[(d, m, i)] = sid
            rest = [k for k in missing if k not in found]
            if rest:
                cols = list(zip(*rest, strict=True))
                dev, met, inst = (text_array(c) for c in cols)
                cur = await conn.execute(
                    "SELECT s.id, s.device, s.metric, s.instance FROM series s"
                    f" JOIN unnest({dev[0]}, {met[0]}, {inst[0]}) AS u(d, m, i)"
                    " ON s.device = u.d AND s.metric = u.m AND s.instance = u.i",
                    (dev[1], met[1], inst[1]),
                    binary=True,
                )
                for sid, d, m, i in await cur.fetchall():
                    found[(d, m, i)] = sid
        return found

    async def write(self, ws: WriteSet) -> dict[str, int]:
        """Write ``ws`` in one transaction; returns rows per table. Raises on failure."""
        t0 = time.perf_counter()
        ws.series_ids = await self.resolve(ws.batches)
        self.phase_seconds["series"] += time.perf_counter() - t0
        payload = copy_payload(ws.batches, ws.series_ids)
        started = time.perf_counter()
        try:
            counts = await self._transaction(ws, payload, staged=False)
        except psycopg.errors.UniqueViolation:
            log.info("sample rows already present (rebalance overlap): retrying through staging")
            counts = await self._transaction(ws, payload, staged=True)
        WRITE_SECONDS.observe(time.perf_counter() - started)
        for table, n in counts.items():
            ROWS_WRITTEN.labels(table).inc(n)
        return counts

    async def _transaction(self, ws: WriteSet, payload: bytes | None, *, staged: bool) -> dict[str, int]:
        conn = await self.connect()
        counts: dict[str, int] = {}
        async with conn.transaction(), conn.cursor() as cur:
            t0 = time.perf_counter()
            if payload is not None:
                async with cur.copy(_COPY.format("nv_stage" if staged else "metric_samples")) as copy:
                    await copy.write(payload)
                if staged:
                    await cur.execute(
                        "INSERT INTO metric_samples SELECT * FROM nv_stage ON CONFLICT DO NOTHING"
                    )
                    counts["metric_samples"] = max(cur.rowcount, 0)
                else:
                    counts["metric_samples"] = ws.sample_count
            t1 = time.perf_counter()
            self.phase_seconds["copy"] += t1 - t0
            if ws.states:
                names = list(ws.states)
                await cur.execute(
                    _STATE_SQL,
                    (
                        names,
                        [ws.states[n].ts for n in names],
                        [msgspec.msgpack.encode(ws.states[n]) for n in names],
                    ),
                    binary=True,  # binary arrays: no per-element text quoting (measured: 3x cheaper)
                )
            t2 = time.perf_counter()
            self.phase_seconds["state"] += t2 - t1
            for sql, table, data in (
                (_PING_SQL, "ping_results", ws.pings),
                (_TRAP_SQL, "traps", ws.traps),
                (_SYSLOG_SQL, "syslog_messages", ws.syslogs),
            ):
                if data:
                    await cur.executemany(sql, data)
                    counts[table] = len(data)
            await self._inventory(cur, ws)
            t3 = time.perf_counter()
        self.phase_seconds["events"] += t3 - t2
        self.phase_seconds["commit"] += time.perf_counter() - t3
        return counts

    async def _inventory(self, cur: psycopg.AsyncCursor, ws: WriteSet) -> None:
        if ws.devices:
            names = list(ws.devices)
            await cur.execute(
                _DEVICE_SQL,
                (names, [ws.devices[n][0] for n in names], [ws.devices[n][1] for n in names]),
                binary=True,
            )
        if ws.sysinfo:
            names = list(ws.sysinfo)
            cols = [[ws.sysinfo[n][i] for n in names] for i in range(3)]
            await cur.execute(_SYSINFO_SQL, (names, *cols), binary=True)
        if_rows = [(d, *r, d) for d, rs in ws.interfaces.items() for r in rs]
        if if_rows:
            await cur.executemany(_IF_SQL, if_rows)
        for device, neighbours in ws.lldp.items():
            await cur.execute(
                "DELETE FROM lldp_neighbors WHERE device = %s"
                " AND NOT (local_port || chr(31) || remote_chassis = ANY(%s::text[]))",
                (device, [f"{n[0]}\x1f{n[1]}" for n in neighbours]),
            )
            if neighbours:
                await cur.executemany(_LLDP_SQL, [(device, *n, device) for n in neighbours])


_SEP = "\x1f"


def text_array(values: Sequence[str]) -> tuple[str, str | list[str]]:
    """A ``text[]`` query parameter as (SQL expression, value), cheap to send.

    psycopg dumps a list parameter element by element in Python (a third of
    a cold worker's time went there, inserting series); one string joined by
    the unit separator and split by PostgreSQL costs a single ``str.join``.
    A leading separator keeps empty strings (``string_to_array('', ...)`` is
    ``{}``); a value that holds the separator itself falls back to the list.
    """
    joined = _SEP + _SEP.join(values)
    if joined.count(_SEP) != len(values):
        return "%s::text[]", list(values)
    return "(string_to_array(%s::text, chr(31)))[2:]", joined


def copy_payload(batches: Sequence[MetricBatch], ids: Sequence[Ids]) -> bytes | None:
    """The binary COPY stream of every batch's values (None when there are none).

    Columns, not rows: per batch one id array (the cache's), one timestamp
    and a list of values; flags only where a batch has any.
    """
    sizes = [len(b.metrics) for b in batches]
    total = sum(sizes)
    if not total:
        return None
    values: list[float] = []
    flags: dict[int, str] = {}
    pos = 0
    for b in batches:
        metrics = b.metrics
        values += [m.value for m in metrics]
        if b.flags:
            for j, m in enumerate(metrics):
                f = b.flags.get(flag_key(m.metric, m.instance))
                if f is not None:
                    flags[pos + j] = f
        pos += len(metrics)
    ts = np.repeat(np.array([pg_micros(b.ts) for b in batches], dtype=np.int64), sizes)
    return encode_copy_columns(np.concatenate(ids), ts, values, flags)
