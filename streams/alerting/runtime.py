"""The I/O shell around the evaluator and the engine, shared by the worker, tests and the bench.

``AlertRuntime`` owns: the rule set (file + ``threshold_rules``, reloaded when
they change; a bad new set is counted and logged and the previous one kept),
the :class:`Evaluator` (its pending ``for`` timers restored from
``alert_timers`` at start and written with every flush, so a failover resumes
them), the :class:`Engine` (rebuilt from the ``alerts`` table at start), the notification :class:`Dispatcher`, remediation tasks, and the
outputs: batched PostgreSQL writes, Kafka records on ``alert`` and
``alert-transition``, Redis live state.

Nothing here blocks evaluation: notifications and remediations run as tasks;
database writes happen in :meth:`flush` (a thread), and a failed flush keeps
its rows for the next one (the database may be down; rows are idempotent).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from redis.exceptions import RedisError

from netvigil.bus import Publisher
from netvigil.records import MetricBatch, PingResult, Record, SyslogMessage, Trap
from netvigil.settings import Settings
from netvigil.topics import encode
from streams.alerting import metrics as m
from streams.alerting.engine import Engine, Outcome, Policy, Silence
from streams.alerting.evaluate import Evaluator, Signal
from streams.alerting.rules import RuleError, RuleSet, load_rule_file, merge
from streams.alerting.store import AlertStore, EventRow, Inventory, TimerRows
from streams.live import LiveState
from streams.monitoring import REDIS_ERRORS
from streams.notify.config import NotifyConfig, NotifyConfigError, load_notify_config, parse_notify_config
from streams.notify.dispatch import Delivery, Dispatcher
from streams.remediation.manifest import Manifest, ManifestError, load_manifest
from streams.remediation.runner import run_action

__all__ = ["AlertRuntime"]

log = logging.getLogger(__name__)


class AlertRuntime:
    def __init__(
        self,
        settings: Settings,
        *,
        policy: Policy | None = None,
        notify_config: NotifyConfig | None = None,
        manifest: Manifest | None = None,
        publish_kafka: bool = True,
        refresh_interval: float = 10.0,
    ) -> None:
        self.settings = settings
        self.store = AlertStore(settings)
        self.rules = RuleSet()
        self._rules_sig: Any = None
        self.evaluator = Evaluator(self.rules)
        self.evaluator.default_interval = settings.collector.poll_interval
        self.engine = Engine(policy, rule_of=lambda n: self.rules.get(n))
        self._policy_fixed = (
            policy is not None
        )  # given by the caller (tests): the file's policy does not apply
        self.addresses: dict[str, str] = {}
        self._notify_path = (
            None if notify_config else settings.resolve_path(settings.streams.notifications_file)
        )
        self._manifest_dir = None if manifest else settings.resolve_path(settings.streams.remediation_dir)
        self._file_sigs: dict[str, float | None] = {}
        self.notify_config = notify_config or parse_notify_config({}, environ={})
        self.manifest = manifest or Manifest(Path("."), {})
        self._reload_files()
        self.dispatcher = Dispatcher(self.notify_config, self._on_delivery, self.engine.device_tags)
        self.live = LiveState(settings)  # the stream tier's Redis live state (guarded, rebuilt after outages)
        self.publisher = (
            Publisher(settings, client_id="netvigil-alerting", linger_ms=5) if publish_kafka else None
        )
        self.refresh_interval = refresh_interval
        self._pending_alerts: list[Any] = []
        self._pending_transitions: list[Any] = []
        self._pending_events: list[EventRow] = []
        self._pending_timers: TimerRows = {}
        self.timer_refresh = 30.0  # rewrite pending timers' last sample time this often
        self._last_timer_refresh = time.monotonic()
        self._unpublished: list[Any] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_refresh = 0.0
        self._db_down = False
        self.reassert_interval = 30.0
        self._last_reassert = time.monotonic()
        self.sweep_interval = 5.0  # how often silent series are looked for (see streams.alerting.nodata)
        self._last_sweep = 0.0

    # -- lifecycle ----------------------------------------------------------
    async def start(self) -> None:
        await self.refresh(force=True)
        try:
            alerts, escalated = await asyncio.to_thread(self.store.active_alerts)
            self.engine.load(alerts, escalated)
            log.info("alert engine rebuilt: %d active alerts", len(self.engine.active))
            self.evaluator.restore(
                ((t.alert.rule, t.alert.device, t.alert.instance) for t in self.engine.active.values()),
                time.time(),
            )
            for t in self.engine.active.values():  # the live hash mirrors what was active
                await self.live.publish_alert(t.alert)
        except psycopg.Error as exc:
            m.DB_FAILURES.inc()
            log.error("cannot load active alerts, starting empty: %s", exc)
        try:
            timers = await asyncio.to_thread(self.store.timers)
            log.info("pending for timers restored: %d", self.evaluator.restore_timers(timers))
        except psycopg.Error as exc:
            m.DB_FAILURES.inc()
            log.error("cannot load pending for timers, they start over: %s", exc)
        await self.dispatcher.start()
        if self.publisher is not None:
            await self.publisher.start()

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.dispatcher.stop()
        await self.flush()
        if self.publisher is not None:
            await self.publisher.stop()
        await self.live.close()
        await asyncio.to_thread(self.store.close)

    # -- configuration -----------------------------------------------------
    async def refresh(self, force: bool = False) -> None:
        """Reload rules, inventory, silences and acknowledgements (every ``refresh_interval``).

        The database is read in a thread; the engine is only touched here, on the loop.
        """
        now = time.time()
        if not force and now - self._last_refresh < self.refresh_interval:
            return
        self._last_refresh = now
        try:
            snap = await asyncio.to_thread(self._read_db)
        except psycopg.Error as exc:
            m.DB_FAILURES.inc()
            log.error("alerting refresh from the database failed, keeping what it had: %s", exc)
            return
        rows, inv, silences, acks = snap
        self._load_rules(rows)
        self._reload_files()
        self.engine.parents.clear()
        self.engine.parents.update(inv.parents)
        self.engine.device_tags.clear()
        self.engine.device_tags.update(inv.tags)
        self.evaluator.device_tags = self.engine.device_tags
        self.evaluator.poll_intervals = inv.poll_intervals
        self.evaluator.snmp_devices = inv.snmp_devices
        self.evaluator.disabled_devices = inv.disabled
        self.addresses = inv.addresses
        self.apply(self.engine.set_silences(silences, time.time()))
        for key, actor in acks:
            self.apply(self.engine.acknowledge(key, actor, time.time()))

    def _read_db(self) -> tuple[list[tuple[str, Any, bool]], Inventory, list[Silence], list[tuple[str, str]]]:
        return (
            self.store.rule_rows(),
            self.store.inventory(),
            self.store.silences(),
            self.store.acknowledged(),
        )

    def _load_rules(self, rows: list[tuple[str, Any, bool]]) -> None:
        path = self.settings.resolve_path(self.settings.streams.rules_file)
        try:
            mtime: float | None = path.stat().st_mtime
        except OSError:
            mtime = None
        sig = (mtime, repr(rows))
        if sig == self._rules_sig:
            return
        self._rules_sig = sig
        try:
            rules = merge(load_rule_file(path) if mtime is not None else RuleSet(), rows)
        except RuleError as exc:
            m.RULE_ERRORS.inc()
            log.error(
                "rule set not loaded, keeping the previous one (%d rules): %s", len(self.rules.rules), exc
            )
            return
        self.rules = rules
        self.evaluator.set_rules(rules)
        if not self._policy_fixed:
            changes, window, stable, escalate = rules.policy.seconds()
            self.engine.policy = dataclasses.replace(
                self.engine.policy,
                flap_changes=changes,
                flap_window=window,
                flap_stable=stable,
                escalate_after=escalate,
            )
        log.info("loaded %d alert rules", len(rules.rules))

    def _reload_files(self) -> None:
        """Re-read the notification config and the remediation manifest when they change.

        A bad new file is counted and logged and the previous one kept (at
        start, "previous" is: no receivers / nothing allowed).
        """
        if self._notify_path is not None and self._changed("notify", self._notify_path):
            try:
                self.notify_config = load_notify_config(self._notify_path)
                if hasattr(self, "dispatcher"):
                    self.dispatcher.config = self.notify_config
            except NotifyConfigError as exc:
                m.RULE_ERRORS.inc()
                log.error("notification config not loaded, keeping the previous one: %s", exc)
        if self._manifest_dir is not None and self._changed("manifest", self._manifest_dir / "manifest.yaml"):
            try:
                self.manifest = load_manifest(self._manifest_dir)
            except ManifestError as exc:
                m.RULE_ERRORS.inc()
                log.error("remediation manifest not loaded, keeping the previous one: %s", exc)

    def _changed(self, name: str, path: Path) -> bool:
        try:
            mtime: float | None = path.stat().st_mtime
        except OSError:
            mtime = None
        if name in self._file_sigs and self._file_sigs[name] == mtime:
            return False
        self._file_sigs[name] = mtime
        return True

    # -- input ---------------------------------------------------------------
    def handle(self, topic: str, record: Record) -> None:
        """Evaluate one record and carry out what the engine decides (never raises on data)."""
        signals: list[Signal]
        if isinstance(record, MetricBatch):
            signals = self.evaluator.metrics(record)
        elif isinstance(record, PingResult):
            signals = self.evaluator.ping(record)
        elif isinstance(record, Trap):
            signals = self.evaluator.trap(record)
        elif isinstance(record, SyslogMessage):
            signals = self.evaluator.syslog(record)
        else:
            return
        for sig in signals:
            self.apply(self.engine.apply(sig))

    def apply(self, out: Outcome) -> None:
        if not out:
            return
        for note in out.notifications:
            self.dispatcher.submit(note)
        self._pending_alerts += out.alerts
        self._pending_transitions += out.transitions
        for t in out.transitions:
            detail = {"reason": t.reason, "severity": t.severity}
            self._pending_events.append(
                (t.key, t.ts, "transition", t.actor, t.from_state, t.to_state, detail)
            )
        for e in out.events:
            self._pending_events.append((e.key, e.ts, e.kind, e.actor, None, None, e.detail))
        for alert, rule_name in out.remediations:
            rule = self.rules.get(rule_name)
            if rule is None or rule.remediation is None:
                continue
            ctx = {
                "device": alert.device,
                "instance": alert.instance,
                "address": self.addresses.get(alert.device, ""),
            }
            self._spawn(self._remediate(alert.key, rule.remediation.action, dict(rule.remediation.args), ctx))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _remediate(self, key: str, action: str, args: dict[str, Any], ctx: dict[str, str]) -> None:
        result = await run_action(self.manifest, action, args, ctx)
        m.REMEDIATIONS.labels(result.status).inc()
        log.info("remediation %s for %s: %s", action, key, result.status)
        self._pending_events.append(
            (key, time.time(), "remediation", f"remediation/{action}", None, None, result.detail())
        )

    async def _on_delivery(self, d: Delivery) -> None:
        m.NOTIFICATIONS.labels(d.receiver_type, "ok" if d.ok else "failed").inc()
        detail = {"receiver": d.receiver, "type": d.receiver_type, "status": d.status, "attempts": d.attempts}
        if d.error:
            detail["error"] = d.error
        kind = "notify" if d.ok else "notify_failed"
        self._pending_events.append((d.key, d.ts, kind, f"notify/{d.receiver}", None, None, detail))

    # -- time and output -----------------------------------------------------
    async def tick(self) -> None:
        await self.refresh()
        now = time.time()
        if now - self._last_sweep >= self.sweep_interval:
            self._last_sweep = now
            for sig in self.evaluator.sweep(now, self.engine.unreachable):
                self.apply(self.engine.apply(sig))
        self.apply(self.engine.tick(now))
        m.set_gauges(self.engine.counts())
        if time.monotonic() - self._last_timer_refresh >= self.timer_refresh:
            self._last_timer_refresh = time.monotonic()
            self.evaluator.touch_timers()
        if time.monotonic() - self._last_reassert >= self.reassert_interval:
            self._last_reassert = time.monotonic()
            await self._reassert_live()

    async def _reassert_live(self) -> None:
        """Rewrite this engine's active alerts into the Redis hash (no pub/sub message).

        Another writer's recovery after a Redis outage may rebuild the hash
        from its own mirror only; this puts ours back within the interval.
        """
        active = {t.alert.key: encode(t.alert) for t in self.engine.active.values()}
        if not active:
            return
        try:
            await self.live.client.hset(f"{self.live.prefix}alerts:active", mapping=active)  # type: ignore[misc,arg-type]  # redis stubs: bytes values
        except (RedisError, OSError) as exc:
            REDIS_ERRORS.inc()
            log.debug("live alert hash not reasserted: %s", exc)

    async def flush(self) -> bool:
        """Write pending rows (kept on failure), then publish to Kafka and Redis.

        True when everything evaluated so far is in PostgreSQL: the caller may
        then commit its Kafka offsets.
        """
        alerts, transitions, events = self._pending_alerts, self._pending_transitions, self._pending_events
        timers = {**self._pending_timers, **self.evaluator.take_timers()}  # newer changes win
        self._pending_timers = {}
        if not (alerts or events or timers or self._unpublished):
            return True
        if alerts or events or timers:
            self._pending_alerts, self._pending_transitions, self._pending_events = [], [], []
            try:
                await asyncio.to_thread(self.store.write, alerts, events, timers)
            except psycopg.Error as exc:
                m.DB_FAILURES.inc()
                if not self._db_down:  # once per outage; the counter shows the retries
                    log.error("alert writes failing, rows kept and retried: %s", exc)
                self._db_down = True
                # only the latest version of an alert is written: keep one per key while down
                latest = {a.key: a for a in alerts + self._pending_alerts}
                self._pending_alerts = list(latest.values())
                self._pending_transitions[:0], self._pending_events[:0] = transitions, events
                self._pending_timers = timers
                return False
            if self._db_down:
                log.warning("alert writes succeed again")
                self._db_down = False
            self._unpublished += [("alert", a) for a in alerts] + [
                ("alert-transition", t) for t in transitions
            ]
        await self._publish(alerts)
        return True

    async def _publish(self, alerts: Sequence[Any]) -> None:
        if self.publisher is not None and self._unpublished:
            try:
                for topic, rec in self._unpublished:
                    await self.publisher.send(topic, rec)
                self._unpublished = []
            except Exception as exc:  # Kafka is retried by the producer; keep what failed
                log.error("publishing alerts to Kafka failed: %s", exc)
        else:
            self._unpublished = []
        for alert in {a.key: a for a in alerts}.values():
            await self.live.publish_alert(alert)
