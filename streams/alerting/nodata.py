"""Absence of data: stale threshold alerts, ``nodata`` rules, durable ``for`` timers (pure).

Semantics, and why:

- **The clock is the input's own progress**, not the wall clock: the newest
  record time the evaluator has seen (any topic), capped by ``now`` so a
  record stamped in the future cannot age everything. When the whole input
  stops (Kafka down, the alerting consumer stalled, every collector gone) the
  clock stops too, and nothing is declared silent: that is an outage of the
  pipeline, watched by its own health metrics, not thousands of per-series
  alerts opening or resolving at once. Times are sample times, as the
  ``for`` durations are, so a replay after a failover decides the same way.
- **Stale threshold/rate alert** (Prometheus staleness, Zabbix ``nodata()``):
  an active condition whose series sent nothing for the rule's ``nodata``
  limit is cleared with reason ``"no data"`` and its alert resolves with that
  reason (not "condition cleared": nobody saw the value go back to normal).
  If data comes back with the condition still true, a new alert opens.
- **The device being down owns the silence**: while the device, or an
  ancestor, has an active device-down alert (``held``), nothing about it is
  declared silent; its alerts keep the existing suppression semantics and the
  silence clock restarts when it is reachable again, so a device that comes
  back gets a full limit to report before anything is called stale.
- **A ``nodata`` rule** opens an alert when a device (no ``metric``: any
  metric batch of the device, optionally of one ``source``) or each matching
  series (with ``metric``) sent nothing for the limit, and resolves
  ("data received") when data returns. That is a collector that stopped
  polling, or an SNMP agent that stopped answering a device that still
  pings; a device that does not answer ping is device-down, which holds it.
  Devices are the enabled inventory devices (only those polled by SNMP for
  ``source: snmp``) plus any device seen that the inventory does not disable; a device never seen is counted
  silent from the first metric batch of the rule's source this evaluator
  received (after a failover: the new leader's first), not from its first
  record of any kind: at a whole-system start the collectors come up and
  the topics' consumers join one after another, and SNMP data arriving a
  minute after the first syslog line is start-up, not a collection that
  stopped (the demo raised one false "collection-stopped" per device before
  this). No batch of that source yet: no clock, nothing silent. A
  series-level rule only knows the series it has seen.
- **A ``for`` timer forgets across a data gap**: a breach followed by a
  silence longer than the limit starts over (Prometheus resets ``for`` on
  staleness), otherwise a value breached an hour ago and again now would
  fire at once.
- **``for`` timers are durable**: every change of a pending timer (rules with
  ``for`` only) is reported by :meth:`NoDataSweep.take_timers` and written to
  ``alert_timers`` with the alerts; a new leader restores them, so a condition
  pending before a failover fires when it would have without the failover.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from streams.alerting.rules import NoData, Rule, RuleSet
from streams.alerting.signal import Signal

__all__ = ["NO_DATA", "NoDataSweep", "Series", "SeriesKey", "Timer", "human"]

NO_DATA = "no data"
SeriesKey = tuple[str, str, str]  # (rule, device, instance)
Timer = tuple[float, float] | None  # (breach since, last sample) or None: no pending timer


@dataclass(slots=True)
class Series:
    breach_since: float | None = None
    active: bool = False
    last_value: float | None = None
    last_ts: float | None = None
    lost_cycles: int = 0
    seen: float | None = None  # newest sample time of this series (for this rule)


def human(seconds: float) -> str:
    """600 -> "10m", 3725 -> "1h2m", 45 -> "45s"."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m" + (f"{s % 60}s" if s % 60 else "")
    return f"{s // 3600}h" + (f"{s % 3600 // 60}m" if s % 3600 // 60 else "")


def _never(device: str) -> bool:
    return False


class NoDataSweep:
    """Per-series state with its no-data clock; the base of :class:`~streams.alerting.evaluate.Evaluator`.

    ``poll_intervals`` (enabled inventory devices -> seconds),
    ``snmp_devices`` and ``disabled_devices`` come from the inventory; nodata
    rules watch its enabled devices and any other device they have seen.
    """

    rules: RuleSet
    _by_name: dict[str, Rule]
    _device_nodata: list[Rule]
    _default_nodata: NoData

    def __init__(self, default_interval: float = 60.0) -> None:
        self._state: dict[SeriesKey, Series] = {}
        self._timers: dict[SeriesKey, Timer] = {}
        # indexes, so the sweep and the timer refresh do not walk every series:
        self._watch: set[SeriesKey] = set()  # active threshold/rate series and nodata-rule series
        self._pending: set[SeriesKey] = set()  # series with a `for` timer running
        self.watermark = 0.0
        self.started: float | None = None
        self.source_started: dict[str, float] = {}  # first metric batch per source ("any": of any source)
        self.default_interval = default_interval
        self.poll_intervals: dict[str, float] = {}
        self.snmp_devices: set[str] = set()
        self.disabled_devices: set[str] = set()
        self.device_tags: dict[str, dict[str, str]] = {}

    # -- state -------------------------------------------------------------
    def _series(self, rule: str, device: str, instance: str) -> Series:
        key = (rule, device, instance)
        st = self._state.get(key)
        if st is None:
            st = self._state[key] = Series()
        return st

    def _since(self, key: SeriesKey, st: Series, since: float | None, rule: Rule) -> None:
        """Set a series' ``for`` start, noting the change for persistence (rules with ``for`` only)."""
        if st.breach_since == since:
            return
        st.breach_since = since
        if rule.for_s > 0:
            self._timers[key] = None if since is None else (since, st.seen if st.seen is not None else since)
            if since is None:
                self._pending.discard(key)
            else:
                self._pending.add(key)

    def advance(self, ts: float) -> None:
        """A record of time ``ts`` arrived: the input clock moves on."""
        if ts > self.watermark:
            self.watermark = ts
        if self.started is None:
            self.started = ts

    def batch_seen(self, source: str, ts: float) -> None:
        """A metric batch of ``source`` arrived: never-seen devices' silence counts from the first one."""
        self.source_started.setdefault(source, ts)
        self.source_started.setdefault("any", ts)

    def nodata_limit(self, rule: Rule, device: str) -> float | None:
        spec = rule.nodata if rule.nodata is not None else self._default_nodata
        return spec.limit(self.poll_intervals.get(device, self.default_interval))

    def arrive(self, rule: Rule, device: str, instance: str, ts: float) -> Series:
        """A sample of a threshold/rate series: a pending ``for`` timer older than a gap starts over."""
        st = self._series(rule.name, device, instance)
        if st.seen is not None and st.breach_since is not None and not st.active:
            limit = self.nodata_limit(rule, device)
            if limit is not None and ts - st.seen >= limit:
                self._since((rule.name, device, instance), st, None, rule)
        if st.seen is None or ts > st.seen:
            st.seen = ts
        return st

    def data_back(self, rule: Rule, device: str, instance: str, ts: float) -> Signal | None:
        """Data for a nodata rule: the clear when its alert was open (not for a replayed older record)."""
        st = self._series(rule.name, device, instance)
        self._watch.add((rule.name, device, instance))
        prev = st.seen
        if prev is None or ts > prev:
            st.seen = ts
        if not st.active or (prev is not None and ts <= prev):
            return None
        st.active = False
        return Signal(
            rule.name, device, instance, False, ts, metric=rule.metric, tags=rule.tags, reason="data received"
        )

    # -- the sweep ---------------------------------------------------------
    def _watched(self, rule: Rule, device: str) -> bool:
        """Whether a nodata rule waits for ``device``: not when the inventory disables it.

        A device the inventory does not list is watched once seen: devices
        may also come from a devices file, and silently never watching them
        would be worse than watching a deleted device (disable it instead).
        """
        if device in self.disabled_devices:
            return False
        if device in self.poll_intervals:
            return rule.source != "snmp" or device in self.snmp_devices
        return True

    def sweep(self, now: float, held: Callable[[str], bool] = _never) -> list[Signal]:
        """Signals for series silent past their limit; ``held(device)``: the device is down.

        The signals carry the input clock as their time, like every other
        signal (sample times), so an alert's timeline stays in order when
        the input lags the wall clock. Call it every few seconds: it walks
        the active threshold alerts and the series of nodata rules (an
        index), not every series.
        """
        if self.started is None:
            return []  # nothing received yet: no clock
        clock = min(self.watermark, now)
        for dev_rule in self._device_nodata:
            for device in self.poll_intervals:
                if self._watched(dev_rule, device) and dev_rule.match.matches(
                    device, "", self.device_tags.get(device, {})
                ):
                    self._series(dev_rule.name, device, "")
                    self._watch.add((dev_rule.name, device, ""))
        out: list[Signal] = []
        for key in sorted(self._watch):  # sorted: the same input gives the same timeline
            name, device, instance = key
            rule = self._by_name.get(name)
            st = self._state.get(key)
            if st is None or rule is None or rule.type not in ("threshold", "rate", "nodata"):
                self._watch.discard(key)
                continue
            if rule.type != "nodata" and not st.active:
                self._watch.discard(key)  # cleared since: back when it fires again
                continue
            if rule.type == "nodata" and not self._watched(rule, device):
                if st.active:  # disabled in the inventory: nothing to wait for
                    st.active = False
                    out.append(
                        Signal(
                            name,
                            device,
                            instance,
                            False,
                            clock,
                            tags=rule.tags,
                            reason="device not monitored",
                        )
                    )
                continue
            if st.active == (rule.type == "nodata"):
                continue  # a threshold that is not firing, a nodata alert already open
            limit = self.nodata_limit(rule, device)
            if limit is None:
                continue
            if held(device):  # the device-down alert explains the silence
                st.seen = clock if st.seen is None else max(st.seen, clock)
                continue
            last = st.seen if st.seen is not None else self.source_started.get(rule.source)
            if last is None:
                continue  # no data of this source received at all yet: no clock for it
            silent = clock - last
            if silent < limit:
                continue
            detail = {"silent_s": round(silent), "limit_s": round(limit, 3), "last_sample": last}
            if rule.type == "nodata":
                st.active = True
                out.append(self._missing(rule, device, instance, clock, silent, limit, detail))
                continue
            st.active = False
            st.last_value = st.last_ts = None
            self._since(key, st, None, rule)
            out.append(
                Signal(
                    name, device, instance, False, clock, metric=rule.metric, tags=rule.tags,
                    reason=NO_DATA, detail=detail,
                )
            )  # fmt: skip
        return out

    def _missing(
        self,
        rule: Rule,
        device: str,
        instance: str,
        ts: float,
        silent: float,
        limit: float,
        detail: dict[str, float],
    ) -> Signal:
        what = f" {rule.metric}{' ' + instance if instance else ''}" if rule.metric else ""
        values = {"device": device, "instance": instance, "metric": rule.metric, "silent": human(silent)}
        default = "no{what} data from {device} for {silent}"
        try:
            summary = (rule.summary or default).format(what=what, limit=human(limit), **values)
        except (KeyError, IndexError, ValueError):
            summary = default.format(what=what, **values)
        return Signal(
            rule.name, device, instance, True, ts, rule.severity, rule.metric, "event",
            round(silent), limit, summary, rule.tags, detail=detail,
        )  # fmt: skip

    # -- durable for timers ---------------------------------------------------
    def take_timers(self) -> dict[SeriesKey, Timer]:
        """Timer changes since the last call (None: delete), to write with the alerts."""
        out, self._timers = self._timers, {}
        return out

    def touch_timers(self) -> None:
        """Report every pending timer again, so its stored ``seen`` (last sample) stays recent."""
        for key in list(self._pending):
            rule, st = self._by_name.get(key[0]), self._state.get(key)
            if rule is None or st is None or rule.for_s <= 0 or st.breach_since is None:
                self._pending.discard(key)
            elif not st.active:
                self._timers[key] = (st.breach_since, st.seen if st.seen is not None else st.breach_since)

    def restore_timers(self, rows: Iterable[tuple[str, str, str, float, float]]) -> int:
        """Resume (rule, device, instance, since, seen) timers of rules that still have a ``for``.

        A timer whose series then stays silent past the limit starts over on
        its next sample, as it would have without the failover.
        """
        n = 0
        for name, device, instance, since, seen in rows:
            rule = self._by_name.get(name)
            if rule is None:
                continue  # unknown now (perhaps a rule file that failed to load): left alone
            if rule.for_s <= 0 or rule.type not in ("threshold", "rate"):
                self._timers[(name, device, instance)] = None  # the rule lost its `for`: stale row
                continue
            st = self._series(name, device, instance)
            if st.breach_since is None:
                st.breach_since = since
                self._pending.add((name, device, instance))
            st.seen = seen if st.seen is None else max(st.seen, seen)
            n += 1
        return n
