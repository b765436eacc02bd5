"""The anomaly stage: detector banks, forecasts and model alerts over every persisted batch.

It plugs into the pipeline's batch hook (``app.batch_processors``), so it sees
each :class:`~streams.app.SeriesBatch` group right after the samples are in
PostgreSQL, with the ``series`` id of every value: no second consumer group,
no second decode, no series lookup.  The hook runs on the pipeline's loop, so
:meth:`process` only does in-memory numpy work (one ``bank.update`` per family
per group) and queues rows; a background task writes them (``flush``), ticks
the alert engine, refreshes thresholds and snapshots the banks.

What is stored (``anomaly_scores`` and topic ``anomaly``): every flagged
point, and one point per scored series every ``store_every_s`` seconds of data
time (5 minutes by default: 1/5 of the 1-minute rollup's rows), enough to draw
the score and expected band beside the series without doubling the sample
volume.  Forecasts (``forecasts``) are stored each time one is made.

Anomaly alerts: the tracker's per-series changes of one :meth:`process` call
(all families) are folded into per-device incidents
(:mod:`streams.anomaly.grouping`), one alert per device and incident, so a
switch outage is one alert listing its interfaces, not one per series.

Hot reload: a :class:`RegistryWatcher` follows ``online`` (all families) and
``online.<family>`` (one family) production versions; a change is applied to
the bank at its next batch with ``apply_params`` (learned state kept when the
detector class is unchanged), and subsequent rows carry the new version.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import psycopg

from models.online import BankResult, DetectorBank
from models.registry_watch import RegistryWatcher
from models.train.online import apply_params, detector_from_params
from netvigil.bus import Publisher
from netvigil.metrics import CATALOGUE
from netvigil.records import Alert, AnomalyScore
from netvigil.settings import Settings
from streams.alerting.evaluate import Signal, alert_key
from streams.alerting.rules import RuleError, RuleSet, load_rule_file, merge
from streams.anomaly import metrics as m
from streams.anomaly.alerts import ModelAlerts
from streams.anomaly.config import AnomalyConfig
from streams.anomaly.forecasting import Forecast, ForecastWindows, human_duration
from streams.anomaly.grouping import (
    RULE,
    IncidentGroups,
    Member,
    SeriesChange,
    members_from_detail,
    parse_label,
)
from streams.anomaly.scoring import AnomalyTracker, Points, Values, gather, store_mask
from streams.anomaly.snapshots import WINDOWS_FILE, load_banks, read_blob, save_banks, write_blob
from streams.anomaly.store import ForecastRow, ScoreRow, ScoreStore
from streams.app import SeriesBatch
from streams.live import LiveState

__all__ = ["AnomalyStage", "thresholds_from_rules"]

log = logging.getLogger(__name__)


def thresholds_from_rules(rules: RuleSet, defaults: dict[str, float]) -> dict[str, float]:
    """Per metric, the lowest first level of its "above" threshold rules, else the default.

    The first level is where the static alert starts, so a predictive alert
    warns before any static one.  Device selectors are not looked at: one
    threshold per metric.
    """
    out = dict(defaults)
    found: dict[str, float] = {}
    for r in rules.rules:
        if r.type == "threshold" and r.direction == "above" and r.levels:
            found[r.metric] = min(found.get(r.metric, r.levels[0][1]), r.levels[0][1])
    out.update(found)
    return out


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _finite_or_none(x: np.ndarray) -> list[float | None]:
    """``[_f(v) for v in x]`` without a numpy scalar per value."""
    out: list[float | None] = list(x.tolist())
    for j in np.flatnonzero(~np.isfinite(x)).tolist():
        out[j] = None
    return out


def _adopted(
    a: Alert, text: str, score: float, worst: str, ids: dict[tuple[str, str, str], int]
) -> Member | None:
    """A member of an alert open before a restart; the worst one shows the alert's value and band."""
    metric, instance = parse_label(text)
    sid = ids.get((a.device, metric, instance))
    if sid is None:
        return None
    if text == worst:
        return Member(sid, metric, instance, a.updated, a.value, score, a.expected_low, a.expected_high)
    return Member(sid, metric, instance, a.updated, None, score)


class AnomalyStage:
    def __init__(
        self,
        settings: Settings,
        config: AnomalyConfig | None = None,
        *,
        state_dir: Path | None = None,
        live: LiveState | None = None,
        publish_kafka: bool = True,
    ) -> None:
        self.settings = settings
        self.config = c = config or AnomalyConfig()
        self.state_dir = state_dir
        self.banks: dict[str, DetectorBank] = {}
        self.versions: dict[str, int] = {}  # family -> registry version the bank runs (-1: not yet set)
        self.models: dict[str, str] = {}  # family -> detector name
        self._last_stored: dict[str, np.ndarray] = {}
        self.tracker = AnomalyTracker(c.clear_points)
        self.incidents = IncidentGroups()  # one anomaly alert per device and incident
        # series id -> the clear of its per-series alert left by a version without grouping
        self._legacy: dict[int, Signal] = {}
        self.windows = ForecastWindows(
            c.forecast_window_s,
            c.forecast_points,
            c.forecast_every_s,
            c.forecast_min_span_s,
            c.predict_horizon_s,
        )
        self.capacity = frozenset(c.capacity_metrics)
        self.thresholds = dict(c.thresholds)
        fams = [c.registry_family] + [f"{c.registry_family}.{f}" for f in c.families]
        self.watcher = RegistryWatcher(settings, fams, interval=c.registry_interval, use_redis=True)
        self.store = ScoreStore(settings)
        self.alerts = ModelAlerts(settings, live, publish_kafka=publish_kafka)
        self.publish_kafka = publish_kafka
        self.publisher: Publisher | None = None  # made in start(): aiokafka wants a running loop
        self._scores: list[ScoreRow] = []
        self._forecasts: list[ForecastRow] = []
        self._records: list[AnomalyScore] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.scored = 0
        self.snapshot_bytes = 0

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        if self.state_dir is not None:
            self.banks, self.versions = await asyncio.to_thread(load_banks, self.state_dir)
            if self.banks:
                log.info("anomaly banks restored: %s", {f: len(b) for f, b in self.banks.items()})
            blob = await asyncio.to_thread(read_blob, self.state_dir, WINDOWS_FILE)
            if blob is not None:
                try:
                    self.windows.restore(blob)
                    log.info("forecast windows restored: %d series", len(self.windows))
                except (ValueError, KeyError, OSError) as exc:
                    log.error("forecast windows not restored (%s): forecasts resume after a new span", exc)
        await asyncio.to_thread(self.watcher.poll)
        await self._load_thresholds()
        await self.alerts.start()
        await self._adopt_active_anomalies()
        if self.publish_kafka:
            self.publisher = Publisher(self.settings, client_id="netvigil-anomaly")
            await self.publisher.start()
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self.watcher.run(self._stop), name="anomaly-registry"),
            asyncio.create_task(self._background(), name="anomaly-flush"),
        ]

    async def stop(self) -> None:
        self._stop.set()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()
        await self.save_snapshot()
        await self.alerts.stop()
        if self.publisher is not None:
            await self.publisher.stop()
        await asyncio.to_thread(self.store.close)
        self.watcher.close()

    async def _adopt_active_anomalies(self) -> None:
        """Anomaly alerts still open from before a restart are tracked again, so they can clear.

        A device's incident gets its members back from the latest membership
        event on its timeline (the worst one with the value and band the
        alert shows).  A per-series alert left by a version without grouping
        (rule ``anomaly:<metric>``) is tracked on its own and resolved when
        its series clears, so an upgrade leaves none stuck open.
        """
        actives = [t.alert for t in self.alerts.engine.active.values() if t.alert.kind == "anomaly"]
        if not actives:
            return
        grouped = [a for a in actives if a.rule == RULE]
        legacy = [a for a in actives if a.rule != RULE]
        try:
            found = await asyncio.to_thread(self.alerts.memberships, [a.key for a in grouped])
            wanted = {(a.device, a.metric, a.instance) for a in legacy}
            for a in grouped:
                members, back = members_from_detail(found.get(a.key, ({}, 0.0))[0])
                wanted.update((a.device, *parse_label(x)) for x in (*members, *back))
            ids = await asyncio.to_thread(self.store.series_index, sorted(wanted))
        except psycopg.Error as exc:
            log.warning("active anomaly alerts not re-tracked (%s): they clear after their next flag", exc)
            ids, found = {}, {}
        for a in legacy:
            sid = ids.get((a.device, a.metric, a.instance))
            if sid is not None:
                self.tracker.active.setdefault(sid, 0)
                self._legacy[sid] = Signal(
                    rule=a.rule, device=a.device, instance=a.instance, firing=False, ts=a.updated,
                    metric=a.metric, kind="anomaly",
                )  # fmt: skip
        for a in grouped:
            detail, last = found.get(a.key, ({}, float("-inf")))
            members, back = members_from_detail(detail)
            worst = str(detail.get("worst", ""))
            now = [m for x, sc in members.items() if (m := _adopted(a, x, sc, worst, ids)) is not None]
            gone = [m for x, sc in back.items() if (m := _adopted(a, x, sc, worst, ids)) is not None]
            for m in now:
                self.tracker.active.setdefault(m.series_id, 0)
            self.incidents.adopt(a.device, now, gone, last)
            if not now:
                log.warning("anomaly alert %s: members not known, it clears after its next flag", a.key)

    async def _background(self) -> None:
        last_snap = last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(self.config.flush_interval)
            try:
                await self.flush()
                self.alerts.tick()
                now = time.monotonic()
                if now - last_refresh >= 30.0:
                    last_refresh = now
                    await self._load_thresholds()
                    await self.alerts.refresh()
                if self.state_dir is not None and now - last_snap >= self.config.snapshot_interval:
                    last_snap = now
                    await self.save_snapshot()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("anomaly stage background step failed; retrying")

    async def _load_thresholds(self) -> None:
        if not self.config.thresholds_from_rules:
            return
        path = self.settings.resolve_path(self.settings.streams.rules_file)
        try:
            rows = await asyncio.to_thread(self.alerts.store.rule_rows)
            rules = merge(load_rule_file(path) if path.exists() else RuleSet(), rows)
        except (RuleError, psycopg.Error) as exc:
            log.warning(
                "capacity thresholds not refreshed from the rules (%s); keeping %s", exc, self.thresholds
            )
            return
        self.thresholds = thresholds_from_rules(rules, self.config.thresholds)

    async def save_snapshot(self) -> None:
        if self.state_dir is None or not self.banks:
            return
        blobs = {f: b.snapshot() for f, b in self.banks.items()}  # on the loop: no update interleaves
        windows = self.windows.snapshot()
        self.snapshot_bytes = await asyncio.to_thread(save_banks, self.state_dir, blobs, dict(self.versions))
        await asyncio.to_thread(write_blob, self.state_dir, WINDOWS_FILE, windows)
        log.info("anomaly banks snapshotted: %d bytes, %d series", self.snapshot_bytes, self.series_count())

    def series_count(self) -> int:
        return sum(len(b) for b in self.banks.values())

    # -- the batch hook --------------------------------------------------------
    async def process(self, groups: Sequence[SeriesBatch]) -> None:
        """The pipeline's batch processor: score, forecast, queue rows and alert signals."""
        values = Values.of(groups)  # one pass over the metrics for both
        self.score(values)
        self.forecast(values)

    def _bank(self, family: str) -> tuple[DetectorBank, str, int]:
        c = self.config
        dep = self.watcher.current(f"{c.registry_family}.{family}") or self.watcher.current(c.registry_family)
        version = dep.version if dep else 0
        bank = self.banks.get(family)
        if bank is None:
            bank = self.banks[family] = detector_from_params(dep.params if dep else None)
            self.versions[family] = version
        elif self.versions.get(family, -1) != version:
            bank = self.banks[family] = apply_params(bank, dep.params if dep else None)
            log.info("anomaly bank %s: model version %s -> %d", family, self.versions.get(family), version)
            self.versions[family] = version
        self.models[family] = str((dep.params if dep else {}).get("detector", "default"))
        m.MODEL_VERSION.labels(family).set(version)
        return bank, self.models[family], version

    def score(self, groups: Sequence[SeriesBatch] | Values) -> None:
        """One ``bank.update`` per family; the sampled points are queued column-wise (no per-point loop)."""
        changes: list[SeriesChange] = []
        for family, p in gather(groups, self.config).items():
            bank, model, version = self._bank(family)
            sids, ts, values = p.series_ids, p.ts, p.values
            rows = bank.index_ids(sids)
            res = bank.update(rows, ts, values)
            last = self._last_stored.get(family)
            if last is None or len(last) <= int(rows.max()):
                grown = np.full(
                    max(int(rows.max()) + 1, 2 * (0 if last is None else len(last)), 1024), -np.inf
                )
                if last is not None:
                    grown[: len(last)] = last
                self._last_stored[family] = last = grown
            keep = np.flatnonzero(store_mask(rows, ts, res.flag, last, self.config.store_every_s))
            score = np.clip(res.score, 0.0, 1.0)
            lik = np.clip(res.likelihood, 0.0, 1.0)
            if len(keep):
                self._queue(p, keep, res, score, lik, model, version)
            for ch in self.tracker.observe(sids, values, res):
                i = ch.index
                (dev,), (met,), (inst,) = p.labels(np.array([i]))
                changes.append(
                    SeriesChange(
                        int(sids[i]), dev, met, inst, float(ts[i]), ch.firing,
                        float(values[i]), float(score[i]), _f(res.lower[i]), _f(res.upper[i]),
                    )
                )  # fmt: skip
            self.scored += len(p)
            m.SCORED.labels(family).inc(len(p))
            m.FLAGS.labels(family).inc(int(res.flag.sum()))
            m.SERIES.labels(family).set(len(bank))
        if changes:
            self._incident_signals(changes)

    def _queue(
        self,
        p: Points,
        keep: np.ndarray,
        res: BankResult,
        score: np.ndarray,
        lik: np.ndarray,
        model: str,
        version: int,
    ) -> None:
        """Score rows and records of the stored points, built from columns (``tolist`` + ``zip``)."""
        sids = p.series_ids[keep].tolist()
        ts = p.ts[keep].tolist()
        vals = p.values[keep].tolist()
        sc = score[keep].tolist()
        lk = lik[keep].tolist()
        fl = res.flag[keep].tolist()
        lo, hi = _finite_or_none(res.lower[keep]), _finite_or_none(res.upper[keep])
        n = len(sids)
        rows = zip(sids, ts, vals, sc, lk, fl, lo, hi, [model] * n, [version] * n, strict=True)
        self._scores.extend(cast("Iterable[ScoreRow]", rows))
        devs, mets, insts = p.labels(keep)
        self._records.extend(
            [
                AnomalyScore(
                    device=d, metric=mt, instance=i, ts=t, value=v, score=s, likelihood=li,
                    is_anomaly=f, expected_low=a, expected_high=b, model=model, model_version=version,
                )
                for d, mt, i, t, v, s, li, f, a, b in zip(
                    devs, mets, insts, ts, vals, sc, lk, fl, lo, hi, strict=True
                )
            ]
        )  # fmt: skip

    def _incident_signals(self, changes: list[SeriesChange]) -> None:
        """Series changes of all families of the call -> one signal per device incident."""
        for c in changes:
            legacy = None if c.firing else self._legacy.pop(c.series_id, None)
            if legacy is not None:
                self.alerts.signal(dataclasses.replace(legacy, ts=c.ts))
        for u in self.incidents.observe(changes):
            self.alerts.incident(u, self.config.anomaly_severity)

    def forecast(self, groups: Sequence[SeriesBatch] | Values) -> None:
        """Capacity values with a threshold go to the windows in one ``add_many`` call."""
        v = groups if isinstance(groups, Values) else Values.of(groups)
        thr = [self.thresholds.get(n, np.nan) if n in self.capacity else np.nan for n in v.names]
        thresholds = v.by_name(np.array(thr, dtype=np.float64))
        pos = np.flatnonzero(v.finite & ~np.isnan(thresholds))
        if not len(pos):
            return
        made = self.windows.add_many(v.series_ids[pos], v.ts[pos], v.values[pos], thresholds[pos])
        for j, fc in made:
            (dev,), (met,), (inst,) = v.labels(pos[j : j + 1])
            self._on_forecast(fc, dev, met, inst)

    def _on_forecast(self, fc: Forecast, device: str, metric: str, instance: str) -> None:
        crossing = fc.ts + fc.eta_s if fc.eta_s is not None else None
        horizon = self.config.predict_horizon_s
        self._forecasts.append(
            (fc.series_id, fc.ts, horizon, fc.slope_per_s, fc.intercept, fc.threshold, crossing)
        )
        # Predictive means "before the static threshold": once the trend is already past
        # it (eta 0) the threshold rule owns the condition and the prediction clears.
        firing = fc.eta_s is not None and 0 < fc.eta_s <= horizon
        key = alert_key(f"predictive:{metric}", device, instance)
        if not firing and key not in self.alerts.engine.active:  # also right after a restart
            return
        unit = CATALOGUE[metric].unit if metric in CATALOGUE else ""
        label = {"disk_used_pct": "disk", "mem_used_pct": "memory", "swap_used_pct": "swap"}.get(
            metric, metric
        )
        what = f"{label} {instance} on {device}".replace("  ", " ")
        eta = human_duration(fc.eta_s) if fc.eta_s is not None else ""
        full = "full" if label == "disk" else "at"
        summary = f"{what} {full} {fc.threshold:g}{' ' + unit if unit else ''} in {eta}" if firing else what
        sig = Signal(
            rule=f"predictive:{metric}", device=device, instance=instance, firing=firing, ts=fc.ts,
            severity=self.config.predictive_severity, metric=metric, kind="predictive", value=fc.intercept,
            threshold=fc.threshold, summary=summary,
        )  # fmt: skip
        self.alerts.signal(sig)

    # -- output ---------------------------------------------------------------
    async def flush(self) -> None:
        scores, forecasts, records = self._scores, self._forecasts, self._records
        self._scores, self._forecasts, self._records = [], [], []
        if scores or forecasts:
            try:
                await asyncio.to_thread(self.store.write, scores, forecasts)
                m.STORED.inc(len(scores))
                m.FORECASTS.inc(len(forecasts))
            except psycopg.Error as exc:
                m.DB_FAILURES.inc()
                log.error("anomaly score writes failing, %d rows kept and retried: %s", len(scores), exc)
                self._scores[:0], self._forecasts[:0] = scores, forecasts
                cap = self.config.max_pending_rows
                if len(self._scores) > cap:  # a long outage: keep memory bounded, drop the oldest, counted
                    m.DROPPED.inc(len(self._scores) - cap)
                    del self._scores[: len(self._scores) - cap]
        if self.publisher is not None and records:
            try:
                await self.publisher.send_many("anomaly", records)
            except Exception as exc:  # stored rows are the truth; the topic is a live feed
                log.error("publishing %d anomaly scores failed: %s", len(records), exc)
        with contextlib.suppress(Exception):
            await self.alerts.flush()
