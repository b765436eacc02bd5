"""Rule evaluation: records in, :class:`Signal` s out (pure, no I/O).

The evaluator keeps the little state rules need between records: since when
a threshold has been breached (the ``for`` duration), whether a condition is
active (hysteresis), the previous value of a series (rate of change) and how
many ping cycles in a row were lost. It emits a signal only when something
matters: a condition that starts or keeps firing (the engine deduplicates
them into one alert) or one that clears.

Absence of data (the ``nodata`` limits and rules) is decided by
:class:`streams.alerting.nodata.NoDataSweep`, which this class extends; the
pending ``for`` timers are reported for persistence (:meth:`take_timers`) so
a new leader resumes them instead of starting them over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from netvigil.records import MetricBatch, PingResult, SyslogMessage, Trap
from streams.alerting.nodata import NO_DATA, NoDataSweep, Series, Timer
from streams.alerting.rules import Rule, RuleSet
from streams.alerting.signal import Signal, alert_key

__all__ = ["NO_DATA", "Evaluator", "Signal", "Timer", "alert_key"]

LINK_DOWN = ("linkDown", "1.3.6.1.6.3.1.1.5.3")
LINK_UP = ("linkUp", "1.3.6.1.6.3.1.1.5.4")
_ADMIN_DOWN = re.compile(r"^(2|down)\b")
_IFINDEX = re.compile(r"(?:ifIndex|1\.3\.6\.1\.2\.1\.2\.2\.1\.1)\.(\d+)$")


def _fmt(rule: Rule, default: str, **values: object) -> str:
    template = rule.summary or default
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return default.format(**values)


class Evaluator(NoDataSweep):
    """Holds per-series state; ``device_tags`` gives inventory tags for selectors."""

    def __init__(self, rules: RuleSet, device_tags: dict[str, dict[str, str]] | None = None) -> None:
        super().__init__()
        self.device_tags: dict[str, dict[str, str]] = device_tags or {}
        self.set_rules(rules)

    def set_rules(self, rules: RuleSet) -> None:
        self.rules = rules
        # per metric: (rule, whether its selector must be checked); most rules match everything
        self._by_metric = {
            metric: [(r, not r.match.matches_everything()) for r in rs]
            for metric, rs in rules.by_metric().items()
        }
        self._by_name = {r.name: r for r in rules.rules}
        self._device_nodata = [r for r in rules.of_type("nodata") if not r.metric]
        self._default_nodata = rules.policy.nodata_default()
        for key, st in list(self._state.items()):
            rule = self._by_name.get(key[0])
            if st.breach_since is not None and (rule is None or rule.for_s <= 0):
                self._timers[key] = None  # the rule or its `for` is gone: so is its persisted timer
            if rule is None:
                del self._state[key]

    def restore(self, active: Iterable[tuple[str, str, str]], now: float | None = None) -> None:
        """Mark (rule, device, instance) conditions active after a restart.

        The engine reloads its open alerts from PostgreSQL; without this the
        evaluator would not know they were firing and would never send the
        clear that resolves them. ``now`` starts their no-data clock: the
        previous leader's last sample time is not known, so a series that
        went silent before the restart resolves one limit after it.
        """
        for rule, device, instance in active:
            st = self._series(rule, device, instance)
            st.active = True
            self._watch.add((rule, device, instance))
            rule_def = self.rules.get(rule)
            if rule_def is not None and rule_def.type == "device_down":
                st.lost_cycles = rule_def.cycles
            if rule_def is not None and rule_def.type in ("threshold", "rate") and now is not None:
                st.seen = now

    # -- metrics ---------------------------------------------------------
    def metrics(self, batch: MetricBatch) -> list[Signal]:
        out: list[Signal] = []
        self.advance(batch.ts)
        self.batch_seen(batch.source, batch.ts)
        tags = self.device_tags.get(batch.device, {})
        for rule in self._device_nodata:
            if rule.source in ("any", batch.source) and rule.match.matches(batch.device, "", tags):
                back = self.data_back(rule, batch.device, "", batch.ts)
                if back is not None:
                    out.append(back)
        admin_down: set[str] | None = None
        for m in batch.metrics:
            rules = self._by_metric.get(m.metric)
            if not rules:
                continue
            value = m.value
            if m.metric == "if_oper_status" and value == 2:
                if admin_down is None:  # an interface shut down on purpose is not "down"
                    admin_down = {
                        x.instance for x in batch.metrics if x.metric == "if_admin_status" and x.value == 2
                    }
                if m.instance in admin_down:
                    value = 1
            for rule, check in rules:
                if check and not rule.match.matches(batch.device, m.instance, tags):
                    continue
                if rule.type == "nodata":
                    if rule.source in ("any", batch.source):
                        back = self.data_back(rule, batch.device, m.instance, batch.ts)
                        if back is not None:
                            out.append(back)
                    continue
                if batch.flags and f"{m.metric}|{m.instance}" in batch.flags:  # streams.rates.flag_key
                    self.arrive(rule, batch.device, m.instance, batch.ts)  # untrusted, but data
                    continue  # a value the stream does not trust is not alerted on
                sig = self._metric(rule, batch.device, m.instance, m.metric, value, batch.ts)
                if sig is not None:
                    out.append(sig)
        return out

    def _metric(
        self, rule: Rule, device: str, instance: str, metric: str, value: float, ts: float
    ) -> Signal | None:
        st = self.arrive(rule, device, instance, ts)
        key = (rule.name, device, instance)
        if rule.type == "interface_down":
            down = int(value) == 2
            return self._edge(rule, st, device, instance, down, ts, metric, value, "event")
        if rule.type == "rate":
            prev, prev_ts = st.last_value, st.last_ts
            st.last_value, st.last_ts = value, ts
            if prev is None or prev_ts is None or ts <= prev_ts:
                return None
            value = (value - prev) / (ts - prev_ts) * 60.0
        hit = rule.level_for(value)
        if hit is not None:
            if st.breach_since is None:
                self._since(key, st, ts, rule)
            since = ts if st.breach_since is None else st.breach_since
            if ts - since < rule.for_s and not st.active:
                return None
            if not st.active:
                st.active = True
                self._watch.add(key)
            sev, limit = hit
            what = "per minute " if rule.type == "rate" else ""
            summary = _fmt(
                rule,
                "{metric} {what}{value:.4g} {direction} {threshold:.4g} on {device} {instance}",
                metric=metric,
                what=what,
                value=value,
                direction=rule.direction,
                threshold=limit,
                device=device,
                instance=instance,
            ).strip()
            return Signal(
                rule.name,
                device,
                instance,
                True,
                ts,
                sev,
                metric,
                "threshold",
                value,
                limit,
                summary,
                rule.tags,
            )
        if st.active and not rule.cleared(value):
            return None  # between the clear level and the first level: hysteresis holds
        self._since(key, st, None, rule)
        if st.active:
            st.active = False
            return Signal(rule.name, device, instance, False, ts, metric=metric, value=value, tags=rule.tags)
        return None

    def _edge(
        self,
        rule: Rule,
        st: Series,
        device: str,
        instance: str,
        bad: bool,
        ts: float,
        metric: str,
        value: float | None,
        kind: str,
        summary: str = "",
    ) -> Signal | None:
        """Conditions that are on or off (no levels): signal on every bad record, once on clear."""
        if bad:
            st.active = True
            text = summary or _fmt(
                rule, "interface {instance} down on {device}", device=device, instance=instance
            )
            return Signal(
                rule.name,
                device,
                instance,
                True,
                ts,
                rule.severity,
                metric,
                kind,
                value,
                None,
                text,
                rule.tags,
            )
        if st.active:
            st.active = False
            return Signal(rule.name, device, instance, False, ts, metric=metric, value=value, tags=rule.tags)
        return None

    # -- ping --------------------------------------------------------------
    def ping(self, result: PingResult) -> list[Signal]:
        out: list[Signal] = []
        self.advance(result.ts)
        tags = self.device_tags.get(result.device, {})
        for rule in self.rules.of_type("device_down"):
            if not rule.match.matches(result.device, "", tags):
                continue
            st = self._series(rule.name, result.device, "")
            lost = result.loss_pct >= 100.0
            st.lost_cycles = st.lost_cycles + 1 if lost else 0
            down = st.lost_cycles >= rule.cycles
            if lost and not down:
                continue
            text = _fmt(
                rule,
                "{device} is down: no ICMP reply for {cycles} cycles",
                device=result.device,
                cycles=st.lost_cycles,
            )
            sig = self._edge(
                rule, st, result.device, "", down, result.ts, "ping_loss_pct", result.loss_pct, "device", text
            )
            if sig is not None:
                out.append(sig)
        return out

    # -- traps -------------------------------------------------------------
    def trap(self, trap: Trap) -> list[Signal]:
        out: list[Signal] = []
        self.advance(trap.ts)
        device = trap.device or trap.source.rsplit(":", 1)[0]
        tags = self.device_tags.get(device, {})
        names = {trap.trap_name, trap.trap_oid, trap.trap_oid.lstrip(".")}
        for rule in self.rules.of_type("interface_down"):
            down, up = bool(names & set(LINK_DOWN)), bool(names & set(LINK_UP))
            if not (down or up):
                continue
            down = down and not _admin_down(trap)  # shut down on purpose: not an outage
            instance = _if_index(trap)
            if not rule.match.matches(device, instance, tags):
                continue
            st = self._series(rule.name, device, instance)
            sig = self._edge(rule, st, device, instance, down, trap.ts, "linkDown", None, "event")
            if sig is not None:
                out.append(sig)
        for rule in self.rules.of_type("trap"):
            if not rule.match.matches(device, "", tags):
                continue
            if rule.trap in names and _varbinds_match(rule, trap):
                text = _fmt(
                    rule, "trap {trap} from {device}", trap=trap.trap_name or trap.trap_oid, device=device
                )
                out.append(
                    Signal(
                        rule.name,
                        device,
                        "",
                        True,
                        trap.ts,
                        rule.severity,
                        trap.trap_name,
                        "event",
                        None,
                        None,
                        text,
                        rule.tags,
                    )
                )
            elif rule.clear_trap and rule.clear_trap in names:
                out.append(Signal(rule.name, device, "", False, trap.ts, tags=rule.tags))
        return out

    # -- syslog ------------------------------------------------------------
    def syslog(self, msg: SyslogMessage) -> list[Signal]:
        out: list[Signal] = []
        self.advance(msg.ts)
        device = msg.device or msg.hostname or msg.source.rsplit(":", 1)[0]
        tags = self.device_tags.get(device, {})
        for rule in self.rules.of_type("syslog"):
            if not rule.match.matches(device, msg.app or "", tags):
                continue
            sev = 7 if msg.severity is None else msg.severity
            if sev > rule.max_severity:
                continue
            if rule.pattern and not re.search(rule.pattern, msg.message):
                continue
            if rule.app and not re.search(rule.app, msg.app or ""):
                continue
            text = _fmt(rule, "{device}: {message}", device=device, message=msg.message[:200])
            out.append(
                Signal(
                    rule.name,
                    device,
                    "",
                    True,
                    msg.ts,
                    rule.severity,
                    "syslog",
                    "event",
                    float(sev),
                    None,
                    text,
                    rule.tags,
                )
            )
        return out


def _if_index(trap: Trap) -> str:
    for vb in trap.varbinds:
        m = _IFINDEX.search(vb.name) or _IFINDEX.search(vb.oid)
        if m:
            return m.group(1)
    return ""


def _admin_down(trap: Trap) -> bool:
    for vb in trap.varbinds:
        if vb.name.startswith(("ifAdminStatus", "IF-MIB::ifAdminStatus")) or vb.oid.lstrip(".").startswith(
            "1.3.6.1.2.1.2.2.1.7."
        ):
            return _ADMIN_DOWN.match(vb.value.strip()) is not None
    return False


def _varbinds_match(rule: Rule, trap: Trap) -> bool:
    for key, rx in rule.varbind_regexes():
        if not any(
            (vb.name == key or vb.oid.lstrip(".") == key.lstrip(".") or vb.name.split(".")[0] == key)
            and rx.search(vb.value)
            for vb in trap.varbinds
        ):
            return False
    return True
