"""Anomaly and predictive alerts through the alert lifecycle of :mod:`streams.alerting`.

The threshold alerting runs one engine per deployment (the worker holding the
leader lock) on its own consumer group, and leaves ``anomaly`` and
``predictive`` alerts to "the models tier, which shares the table"
(:meth:`streams.alerting.engine.Engine.load`).  Detector state, however, lives
where the partitions of a device are processed, on every worker.  So each
worker's anomaly stage runs the same pure :class:`Engine` (dedup key, open ->
acknowledged -> resolved, flapping, silences, parent-down suppression,
escalation) on its own devices' conditions, and carries the outcomes out the
same way the alerting runtime does: ``alerts``/``alert_events`` through
:class:`AlertStore`, the ``alert`` and ``alert-transition`` topics, the Redis
live state, and notifications through the same :class:`Dispatcher` and
notification config.  Keys never collide with threshold rules: rules are
``anomaly`` (one alert per device and incident, ``anomaly/<device>/``, see
:mod:`streams.anomaly.grouping`; before grouping ``anomaly:<metric>``) and
``predictive:<metric>``.  Incident membership changes are timeline events
(``member_joined``/``member_cleared``) whose detail lists the members: the
operator sees who joined and left when, and a restart re-adopts the members
from the latest one (:meth:`ModelAlerts.memberships`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterable
from typing import Any

import msgspec
import psycopg

from netvigil.bus import Publisher
from netvigil.records import Alert
from netvigil.settings import Settings
from streams.alerting.engine import Engine, Outcome, _Tracked
from streams.alerting.evaluate import Signal
from streams.alerting.store import AlertStore, EventRow
from streams.anomaly.grouping import JOINED, LEFT, RULE, IncidentUpdate
from streams.live import LiveState
from streams.notify.config import NotifyConfigError, load_notify_config, parse_notify_config
from streams.notify.dispatch import Delivery, Dispatcher

__all__ = ["MODEL_KINDS", "ModelAlerts", "ModelEngine"]

log = logging.getLogger(__name__)

MODEL_KINDS = ("anomaly", "predictive")

_ACTIVE_SQL = (
    "SELECT key, rule, device, instance, metric, kind, severity, state, summary, value, threshold,"
    " expected_low, expected_high, score, flapping, root_cause, tags,"
    " extract(epoch FROM started), extract(epoch FROM updated)"
    " FROM alerts WHERE state IN ('open', 'acknowledged', 'suppressed') AND kind IN ('anomaly', 'predictive')"
)
# The latest membership event of each active incident's current episode (its detail lists the members).
_MEMBERS_SQL = (
    "SELECT DISTINCT ON (e.key) e.key, e.detail, extract(epoch FROM e.ts)"
    " FROM alert_events e JOIN alerts a ON a.key = e.key"
    " WHERE e.key = ANY(%s) AND e.kind = ANY(%s) AND e.ts >= a.started"
    " ORDER BY e.key, e.ts DESC, e.id DESC"
)


class ModelEngine(Engine):
    """The alert engine adopting the models tier's kinds when rebuilt from the table."""

    def load(self, alerts: Iterable[Alert], escalated: Iterable[str] = ()) -> None:
        done = set(escalated)
        for a in alerts:
            if a.kind not in MODEL_KINDS:
                continue
            notified = a.state in ("open", "acknowledged")
            self.active[a.key] = _Tracked(a, True, notified, a.key in done, a.started, a.updated, a.updated)


class ModelAlerts:
    """Signals in; lifecycle outcomes persisted, published and notified (see module doc)."""

    def __init__(self, settings: Settings, live: LiveState | None, publish_kafka: bool = True) -> None:
        self.settings = settings
        self.store = AlertStore(settings)
        self.engine = ModelEngine()
        self.live = live
        self.publish_kafka = publish_kafka
        self.publisher: Publisher | None = None  # made in start(): aiokafka wants a running loop
        path = settings.resolve_path(settings.streams.notifications_file)
        try:
            config = load_notify_config(path) if path.exists() else parse_notify_config({}, environ={})
        except NotifyConfigError as exc:
            log.error("notification config not loaded, anomaly alerts are not notified: %s", exc)
            config = parse_notify_config({}, environ={})
        self.dispatcher = Dispatcher(config, self._on_delivery, self.engine.device_tags)
        self._alerts: list[Alert] = []
        self._transitions: list[Any] = []
        self._events: list[EventRow] = []

    async def start(self) -> None:
        try:
            rows = await asyncio.to_thread(self._read_active)
            self.engine.load(rows)
            log.info("anomaly alert engine rebuilt: %d active alerts", len(self.engine.active))
        except psycopg.Error as exc:
            log.error("cannot load active anomaly/predictive alerts, starting empty: %s", exc)
        await self.refresh()
        await self.dispatcher.start()
        if self.publish_kafka:
            self.publisher = Publisher(self.settings, client_id="netvigil-anomaly-alerts")
            await self.publisher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        await self.flush()
        if self.publisher is not None:
            await self.publisher.stop()
        await asyncio.to_thread(self.store.close)

    def _read_active(self) -> list[Alert]:
        def go(conn: psycopg.Connection) -> list[Alert]:
            rows = conn.execute(_ACTIVE_SQL).fetchall()
            conn.rollback()
            return [_alert(r) for r in rows]

        out: list[Alert] = self.store._run(go)
        return out

    def memberships(self, keys: list[str]) -> dict[str, tuple[dict[str, Any], float]]:
        """Key -> (detail, ts) of the latest membership event of the alert's current episode."""

        def go(conn: psycopg.Connection) -> dict[str, tuple[dict[str, Any], float]]:
            rows = conn.execute(_MEMBERS_SQL, (keys, [JOINED, LEFT])).fetchall()
            conn.rollback()
            return {r[0]: (dict(r[1] or {}), float(r[2])) for r in rows}

        out: dict[str, tuple[dict[str, Any], float]] = self.store._run(go)
        return out

    async def refresh(self) -> None:
        """Inventory (parents, tags), silences and acknowledgements from the database."""
        try:
            inv, silences, acks = await asyncio.to_thread(
                lambda: (self.store.inventory(), self.store.silences(), self.store.acknowledged())
            )
        except psycopg.Error as exc:
            log.warning("anomaly alerts: refresh from the database failed: %s", exc)
            return
        self.engine.parents.clear()
        self.engine.parents.update(inv.parents)
        self.engine.device_tags.clear()
        self.engine.device_tags.update(inv.tags)
        self.apply(self.engine.set_silences(silences, time.time()))
        for key, actor in acks:
            self.apply(self.engine.acknowledge(key, actor, time.time()))

    def signal(self, sig: Signal, **extras: float | None) -> None:
        """One condition change; ``extras`` (score, expected_low/high) are put on the alert."""
        out = self.engine.apply(sig)
        if sig.firing:  # the engine keeps the first summary; ours carries the latest forecast
            changes: dict[str, object] = {"summary": sig.summary, **extras}
            t = self.engine.active.get(sig.key)
            if t is not None:
                t.alert = msgspec.structs.replace(t.alert, **changes)
            out.alerts = [
                msgspec.structs.replace(a, **changes) if a.key == sig.key else a for a in out.alerts
            ]
        self.apply(out)

    def incident(self, u: IncidentUpdate, severity: str) -> None:
        """A device's anomaly incident changed: one engine signal, one timeline event.

        The engine opens, keeps or resolves the alert (and notifies only on
        open/resolve, never per member); the fields that follow the worst
        member are put on the tracked alert before the engine acts (so a
        resolve carries the episode's summary) and after (a new alert), and on
        the notification.  A member joining or leaving an alert the engine
        does not republish is persisted anyway: the console shows the change.
        """
        w = u.worst
        sig = Signal(
            rule=RULE, device=u.device, instance="", firing=u.firing, ts=u.ts, severity=severity,
            metric=w.metric, kind="anomaly", value=w.value, summary=u.summary,
        )  # fmt: skip
        changes: dict[str, Any] = {
            "summary": u.summary, "metric": w.metric, "value": w.value, "score": w.score,
            "expected_low": w.lower, "expected_high": w.upper,
        }  # fmt: skip
        t = self.engine.active.get(sig.key)
        if t is not None:
            t.alert = msgspec.structs.replace(t.alert, **changes)
        out = self.engine.apply(sig)
        t = self.engine.active.get(sig.key)
        if t is not None:
            t.alert = msgspec.structs.replace(t.alert, **changes)
        out.alerts = [msgspec.structs.replace(a, **changes) if a.key == sig.key else a for a in out.alerts]
        out.notifications = [
            dataclasses.replace(n, alert=msgspec.structs.replace(n.alert, **changes))
            if n.alert.key == sig.key
            else n
            for n in out.notifications
        ]
        if t is not None and not any(a.key == sig.key for a in out.alerts):
            t.alert = msgspec.structs.replace(t.alert, updated=u.ts)
            out.alerts.append(t.alert)
        self.apply(out)
        if u.event_kind is not None:
            self._events.append((sig.key, u.event_ts, u.event_kind, "anomaly", None, None, u.detail()))

    def tick(self) -> None:
        self.apply(self.engine.tick(time.time()))

    def apply(self, out: Outcome) -> None:
        for note in out.notifications:
            self.dispatcher.submit(note)
        self._alerts += out.alerts
        self._transitions += out.transitions
        for t in out.transitions:
            detail = {"reason": t.reason, "severity": t.severity}
            self._events.append((t.key, t.ts, "transition", t.actor, t.from_state, t.to_state, detail))
        for e in out.events:
            self._events.append((e.key, e.ts, e.kind, e.actor, None, None, e.detail))

    async def _on_delivery(self, d: Delivery) -> None:
        detail = {"receiver": d.receiver, "type": d.receiver_type, "status": d.status, "attempts": d.attempts}
        if d.error:
            detail["error"] = d.error
        kind = "notify" if d.ok else "notify_failed"
        self._events.append((d.key, d.ts, kind, f"notify/{d.receiver}", None, None, detail))

    async def flush(self) -> bool:
        """Write pending alerts and events (kept on failure), then publish them."""
        alerts, transitions, events = self._alerts, self._transitions, self._events
        if not (alerts or events):
            return True
        self._alerts, self._transitions, self._events = [], [], []
        try:
            await asyncio.to_thread(self.store.write, alerts, events)
        except psycopg.Error as exc:
            log.error("anomaly alert writes failing, rows kept and retried: %s", exc)
            self._alerts[:0], self._transitions[:0], self._events[:0] = alerts, transitions, events
            return False
        if self.publisher is not None:
            try:
                for a in alerts:
                    await self.publisher.send("alert", a)
                for tr in transitions:
                    await self.publisher.send("alert-transition", tr)
            except Exception as exc:  # the rows are stored; Kafka copies are best effort
                log.error("publishing anomaly alerts to Kafka failed: %s", exc)
        if self.live is not None:
            for a in {a.key: a for a in alerts}.values():
                await self.live.publish_alert(a)
        return True


def _alert(r: tuple[Any, ...]) -> Alert:
    return Alert(
        key=r[0], rule=r[1], device=r[2], instance=r[3], metric=r[4], kind=r[5], severity=r[6],
        state=r[7], summary=r[8], value=r[9], threshold=r[10], expected_low=r[11], expected_high=r[12],
        score=r[13], flapping=r[14], root_cause=r[15], tags=dict(r[16] or {}),
        started=float(r[17]), updated=float(r[18]),
    )  # fmt: skip
