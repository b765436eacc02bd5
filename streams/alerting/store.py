"""PostgreSQL side of alerting: batched writes of alerts, their timeline and ``for`` timers; reload.

Writes are batched (one transaction per flush): ``alerts`` is upserted (last
version of each key wins) and ``alert_events`` inserted with ``ON CONFLICT DO
NOTHING`` on its natural key, so a flush retried after an outage writes
nothing twice. Pending ``for`` timers (``alert_timers``) are upserted or
deleted in the same transaction: what a new leader restores is consistent
with the alerts it reloads. An acknowledgement written by the app is never overwritten by
the engine: the upsert keeps ``acknowledged`` unless the alert resolves.

Synchronous psycopg, called through ``asyncio.to_thread`` by the runtime.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg

from netvigil.db import connect
from netvigil.records import Alert
from netvigil.settings import Settings
from streams.alerting.engine import Silence

__all__ = ["AlertStore", "EventRow", "Inventory", "TimerRow"]

log = logging.getLogger(__name__)

# (key, ts, kind, actor, from_state, to_state, detail)
EventRow = tuple[str, float, str, str, str | None, str | None, dict[str, Any]]
# (rule, device, instance) -> (since, seen), or None to delete
TimerRows = dict[tuple[str, str, str], tuple[float, float] | None]
# (rule, device, instance, since, seen) as read back
TimerRow = tuple[str, str, str, float, float]

_UPSERT = """
INSERT INTO alerts (key, rule, device, instance, metric, kind, severity, state, summary, value,
    threshold, expected_low, expected_high, score, flapping, root_cause, tags, started, updated, resolved_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (key) DO UPDATE SET
    severity = EXCLUDED.severity,
    state = CASE WHEN alerts.state = 'acknowledged' AND EXCLUDED.state IN ('open', 'acknowledged')
                 THEN 'acknowledged' ELSE EXCLUDED.state END,
    summary = EXCLUDED.summary, value = EXCLUDED.value, threshold = EXCLUDED.threshold,
    expected_low = EXCLUDED.expected_low, expected_high = EXCLUDED.expected_high,
    score = EXCLUDED.score, flapping = EXCLUDED.flapping, root_cause = EXCLUDED.root_cause,
    tags = EXCLUDED.tags, updated = EXCLUDED.updated, resolved_at = EXCLUDED.resolved_at,
    started = CASE WHEN alerts.state = 'resolved' AND EXCLUDED.state <> 'resolved'
                   THEN EXCLUDED.started ELSE alerts.started END,
    acknowledged_by = CASE WHEN alerts.state = 'resolved' THEN NULL ELSE alerts.acknowledged_by END,
    acknowledged_at = CASE WHEN alerts.state = 'resolved' THEN NULL ELSE alerts.acknowledged_at END
"""

_EVENT = """
INSERT INTO alert_events (key, ts, kind, actor, from_state, to_state, detail)
VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key, ts, kind, actor) DO NOTHING
"""


_TIMER = """
INSERT INTO alert_timers (rule, device, instance, since, seen) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (rule, device, instance) DO UPDATE SET
    since = EXCLUDED.since, seen = EXCLUDED.seen, updated_at = now()
"""
_TIMER_DELETE = "DELETE FROM alert_timers WHERE rule = %s AND device = %s AND instance = %s"


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _alert_row(a: Alert) -> tuple[Any, ...]:
    return (
        a.key, a.rule, a.device, a.instance, a.metric, a.kind, a.severity, a.state, a.summary,
        a.value, a.threshold, a.expected_low, a.expected_high, a.score, a.flapping, a.root_cause,
        json.dumps(a.tags), _dt(a.started), _dt(a.updated), _dt(a.updated) if a.state == "resolved" else None,
    )  # fmt: skip


class Inventory(msgspec.Struct):
    parents: dict[str, str | None]
    tags: dict[str, dict[str, str]]
    addresses: dict[str, str]
    poll_intervals: dict[str, float] = msgspec.field(default_factory=dict)  # enabled devices only
    snmp_devices: set[str] = msgspec.field(default_factory=set)  # enabled and polled by SNMP
    disabled: set[str] = msgspec.field(default_factory=set)


class AlertStore:
    """One connection, reopened after a failure; every method may raise psycopg.Error."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: psycopg.Connection | None = None

    def _c(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.settings)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(self, fn: Any) -> Any:
        try:
            return fn(self._c())
        except psycopg.Error:
            self.close()
            raise

    def write(
        self, alerts: Sequence[Alert], events: Sequence[EventRow], timers: TimerRows | None = None
    ) -> None:
        """One transaction: latest version per alert key, then the events, then the timers."""
        latest = {a.key: a for a in alerts}
        timers = timers or {}
        upserts = [(*k, *v) for k, v in timers.items() if v is not None]
        deletes = [k for k, v in timers.items() if v is None]

        def go(conn: psycopg.Connection) -> None:
            with conn.transaction(), conn.cursor() as cur:
                if latest:
                    cur.executemany(_UPSERT, [_alert_row(a) for a in latest.values()])
                if events:
                    cur.executemany(
                        _EVENT,
                        [
                            (k, _dt(ts), kind, actor, f, t, json.dumps(d))
                            for k, ts, kind, actor, f, t, d in events
                        ],
                    )
                if upserts:
                    cur.executemany(_TIMER, upserts)
                if deletes:
                    cur.executemany(_TIMER_DELETE, deletes)

        self._run(go)

    def timers(self) -> list[TimerRow]:
        """The pending ``for`` timers the previous leader left."""

        def go(conn: psycopg.Connection) -> list[TimerRow]:
            rows = conn.execute("SELECT rule, device, instance, since, seen FROM alert_timers").fetchall()
            conn.rollback()
            return [(r[0], r[1], r[2], float(r[3]), float(r[4])) for r in rows]

        result: list[TimerRow] = self._run(go)
        return result

    def active_alerts(self) -> tuple[list[Alert], set[str]]:
        """Open/acknowledged/suppressed alerts, and the keys already escalated."""

        def go(conn: psycopg.Connection) -> tuple[list[Alert], set[str]]:
            rows = conn.execute(
                "SELECT key, rule, device, instance, metric, kind, severity, state, summary, value, threshold,"
                " expected_low, expected_high, score, flapping, root_cause, tags,"
                " extract(epoch FROM started), extract(epoch FROM updated)"
                " FROM alerts WHERE state IN ('open', 'acknowledged', 'suppressed')"
                " AND kind IN ('threshold', 'event', 'device')"
            ).fetchall()
            escalated = {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT e.key FROM alert_events e JOIN alerts a ON a.key = e.key"
                    " WHERE e.kind = 'escalation' AND e.ts >= a.started AND a.state <> 'resolved'"
                ).fetchall()
            }
            conn.rollback()
            names = ("key", "rule", "device", "instance", "metric", "kind", "severity", "state", "summary",
                     "value", "threshold", "expected_low", "expected_high", "score", "flapping",
                     "root_cause", "tags", "started", "updated")  # fmt: skip
            alerts = []
            for r in rows:
                d = dict(zip(names, r, strict=True))
                d["started"], d["updated"] = float(d["started"]), float(d["updated"])
                alerts.append(msgspec.convert(d, Alert))
            return alerts, escalated

        result: tuple[list[Alert], set[str]] = self._run(go)
        return result

    def acknowledged(self) -> list[tuple[str, str]]:
        """(key, acknowledged_by) of alerts the app acknowledged."""

        def go(conn: psycopg.Connection) -> list[tuple[str, str]]:
            rows = conn.execute(
                "SELECT key, coalesce(acknowledged_by, 'app') FROM alerts WHERE state = 'acknowledged'"
            ).fetchall()
            conn.rollback()
            return [(r[0], r[1]) for r in rows]

        result: list[tuple[str, str]] = self._run(go)
        return result

    def silences(self) -> list[Silence]:
        def go(conn: psycopg.Connection) -> list[Silence]:
            rows = conn.execute(
                "SELECT id, matcher, extract(epoch FROM starts_at), extract(epoch FROM ends_at)"
                " FROM silences WHERE ends_at > now()"
            ).fetchall()
            conn.rollback()
            return [Silence.from_matcher(r[0], r[1] or {}, float(r[2]), float(r[3])) for r in rows]

        result: list[Silence] = self._run(go)
        return result

    def inventory(self) -> Inventory:
        def go(conn: psycopg.Connection) -> Inventory:
            rows = conn.execute(
                "SELECT name, parent, tags, address, poll_interval, enabled, snmp_version FROM devices"
            ).fetchall()
            conn.rollback()
            return Inventory(
                parents={r[0]: r[1] for r in rows},
                tags={r[0]: {str(k): str(v) for k, v in (r[2] or {}).items()} for r in rows},
                addresses={r[0]: r[3] for r in rows},
                poll_intervals={r[0]: float(r[4]) for r in rows if r[5]},
                snmp_devices={r[0] for r in rows if r[5] and r[6] != "none"},
                disabled={r[0] for r in rows if not r[5]},
            )

        result: Inventory = self._run(go)
        return result

    def rule_rows(self) -> list[tuple[str, Any, bool]]:
        def go(conn: psycopg.Connection) -> list[tuple[str, Any, bool]]:
            rows = conn.execute("SELECT name, definition, enabled FROM threshold_rules").fetchall()
            conn.rollback()
            return [(r[0], r[1], r[2]) for r in rows]

        result: list[tuple[str, Any, bool]] = self._run(go)
        return result
