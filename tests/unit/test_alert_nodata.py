"""Absence of data: stale alerts resolve "no data", nodata rules, for timers across gaps (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from netvigil.records import Metric, MetricBatch, PingResult
from streams.alerting.engine import Engine, Outcome
from streams.alerting.evaluate import NO_DATA, Evaluator, Signal
from streams.alerting.rules import NoData, RuleError, RuleSet, parse_rules


def rules(*items: dict[str, Any], policy: dict[str, Any] | None = None) -> RuleSet:
    return parse_rules({"rules": list(items), "policy": policy or {}})


def batch(device: str, ts: float, source: str = "snmp", **values: float) -> MetricBatch:
    return MetricBatch(
        device=device,
        ts=ts,
        source=source,  # type: ignore[arg-type]
        metrics=[Metric(k, "", v) for k, v in values.items()],
    )


def ping(device: str, ts: float, loss: float) -> PingResult:
    return PingResult(
        device=device, ts=ts, address="10.0.0.1", sent=3, received=0 if loss else 3, loss_pct=loss
    )


class Loop:
    """Evaluator and engine wired as the runtime wires them (handle, then sweep on tick)."""

    def __init__(self, rs: RuleSet, parents: dict[str, str | None] | None = None) -> None:
        self.ev = Evaluator(rs)
        self.engine = Engine(rule_of=rs.get, parents=parents)

    def feed(self, *records: MetricBatch | PingResult) -> Outcome:
        out = Outcome()
        for r in records:
            sigs = self.ev.metrics(r) if isinstance(r, MetricBatch) else self.ev.ping(r)
            for s in sigs:
                out.extend(self.engine.apply(s))
        return out

    def sweep(self, now: float) -> tuple[list[Signal], Outcome]:
        out = Outcome()
        sigs = self.ev.sweep(now, self.engine.unreachable)
        for s in sigs:
            out.extend(self.engine.apply(s))
        return sigs, out


CPU = {"name": "cpu", "metric": "cpu_load_pct", "levels": {"warning": 80}, "clear": 70, "nodata": "60s"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10m", NoData(seconds=600)), (90, NoData(seconds=90)), ("3x", NoData(polls=3)), ("off", NoData())],
)
def test_nodata_values(value: Any, expected: NoData) -> None:
    rs = rules({**CPU, "nodata": value})
    assert rs.rules[0].nodata == expected


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({**CPU, "nodata": "soon"}, "rule 'cpu': key 'nodata': not a no-data limit: 'soon' (use '10m', '3x'"),
        ({**CPU, "nodata": "0x"}, "rule 'cpu': key 'nodata': must be more than 0x"),
        ({**CPU, "nodata": 0}, "rule 'cpu': key 'nodata': must be more than 0"),
        ({"name": "t", "type": "trap", "trap": "x", "nodata": "5m"}, "rule 't': key 'nodata' applies to"),
        ({**CPU, "source": "snmp"}, "rule 'cpu': key 'source' applies to nodata rules only"),
        ({"name": "n", "type": "nodata", "nodata": "off"}, "rule 'n': key 'nodata': cannot be 'off'"),
        ({"name": "n", "type": "nodata", "silence": "5m"}, "rule 'n': unknown key 'silence'"),
        ({"name": "n", "type": "nodata", "source": "ftp"}, "rule 'n': key 'source'"),
    ],
)
def test_nodata_config_errors_are_one_clear_line(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError) as exc:
        rules(rule)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_policy_nodata_default_and_error() -> None:
    assert parse_rules({"rules": []}).policy.nodata_default() == NoData(polls=3)
    assert parse_rules({"policy": {"nodata": "10m"}}).policy.nodata_default() == NoData(seconds=600)
    with pytest.raises(RuleError, match="policy: key 'nodata': not a no-data limit"):
        parse_rules({"policy": {"nodata": "later"}})


def test_silent_series_resolves_with_reason_no_data_not_cleared() -> None:
    lp = Loop(rules(CPU))
    lp.feed(batch("r1", 0, cpu_load_pct=90))
    assert "cpu/r1/" in lp.engine.active
    lp.feed(batch("r2", 59, cpu_load_pct=10))
    assert lp.sweep(1000)[0] == []  # the input clock (59) is what counts, not the wall clock
    lp.feed(batch("r2", 61, cpu_load_pct=10))
    sigs, out = lp.sweep(1000)
    assert [(s.key, s.firing, s.reason) for s in sigs] == [("cpu/r1/", False, NO_DATA)]
    (tr,) = out.transitions
    assert (tr.from_state, tr.to_state, tr.reason) == ("open", "resolved", "no data")
    assert [(e.kind, e.detail["silent_s"], e.detail["limit_s"]) for e in out.events] == [("nodata", 61, 60)]
    assert [(n.status, n.reason) for n in out.notifications] == [("resolved", "no data")]
    assert lp.engine.active == {}
    # data comes back still breached: a new alert, not a resurrection of the old one
    out = lp.feed(batch("r1", 70, cpu_load_pct=91))
    assert [(t.from_state, t.to_state) for t in out.transitions] == [(None, "open")]


def test_whole_input_stopping_resolves_nothing() -> None:
    lp = Loop(rules(CPU))
    lp.feed(batch("r1", 0, cpu_load_pct=90), batch("r2", 0, cpu_load_pct=10))
    assert lp.sweep(1e9)[0] == []  # nothing newer arrived from anyone: the pipeline stopped


def test_poll_intervals_scale_the_limit() -> None:
    lp = Loop(rules({**CPU, "nodata": "3x"}))
    lp.ev.poll_intervals = {"r1": 10.0, "r2": 300.0}
    lp.feed(batch("r1", 0, cpu_load_pct=90), batch("r2", 0, cpu_load_pct=90))
    lp.feed(batch("r3", 31, cpu_load_pct=1))
    sigs, _ = lp.sweep(31)
    assert [s.key for s in sigs] == ["cpu/r1/"]  # r2 (polled every 5 min) may be silent 15 min


def test_rule_with_nodata_off_never_goes_stale() -> None:
    lp = Loop(rules({**CPU, "nodata": "off"}))
    lp.feed(batch("r1", 0, cpu_load_pct=90), batch("r2", 10_000, cpu_load_pct=1))
    assert lp.sweep(10_000)[0] == []


def test_device_down_owns_the_silence_and_the_clock_restarts_after() -> None:
    rs = rules(CPU, {"name": "down", "type": "device_down", "cycles": 1, "severity": "critical"})
    lp = Loop(rs, parents={"srv": "sw"})
    lp.feed(batch("r1", 0, cpu_load_pct=90), batch("srv", 0, cpu_load_pct=90))
    lp.feed(ping("r1", 5, 100), ping("sw", 5, 100))  # r1 itself down; srv behind a parent that is down
    assert lp.engine.active["cpu/srv/"].alert.state == "suppressed"
    lp.feed(batch("x", 500, cpu_load_pct=1))
    assert lp.sweep(500)[0] == []  # held: the device-down alert is the root cause
    assert lp.engine.active["cpu/r1/"].alert.state == "open"
    lp.feed(ping("r1", 510, 0), ping("sw", 510, 0))  # back, but r1/srv send no samples yet
    assert lp.engine.active["cpu/srv/"].alert.state == "open"
    lp.feed(batch("x", 540, cpu_load_pct=1))
    assert lp.sweep(540)[0] == []  # a full limit after the device came back
    lp.feed(batch("x", 561, cpu_load_pct=1))
    assert {s.key for s in lp.sweep(561)[0]} == {"cpu/r1/", "cpu/srv/"}


def test_flapping_alert_that_goes_silent_resolves_no_data_at_once() -> None:
    lp = Loop(rules({**CPU, "nodata": "30s"}))
    for i in range(6):
        lp.feed(batch("r1", i * 2, cpu_load_pct=90), batch("r1", i * 2 + 1, cpu_load_pct=10))
    lp.feed(batch("r1", 12, cpu_load_pct=90))
    assert lp.engine.active["cpu/r1/"].alert.flapping
    lp.feed(batch("x", 50, cpu_load_pct=1))
    _, out = lp.sweep(50)
    assert [t.reason for t in out.transitions] == ["no data"]


def test_restored_alert_goes_stale_one_limit_after_the_restart() -> None:
    lp = Loop(rules(CPU))
    lp.ev.restore([("cpu", "r1", "")], now=100)
    lp.feed(batch("x", 150, cpu_load_pct=1))
    assert lp.ev.sweep(150) == []
    lp.feed(batch("x", 161, cpu_load_pct=1))
    assert [s.reason for s in lp.ev.sweep(161)] == [NO_DATA]


def test_pending_for_timer_starts_over_after_a_gap() -> None:
    lp = Loop(rules({**CPU, "for": "2m", "nodata": "3m"}))
    lp.feed(batch("r1", 0, cpu_load_pct=90))
    assert lp.feed(batch("r1", 500, cpu_load_pct=90)).alerts == []  # silent 500 s: not 500 s of breach
    assert lp.feed(batch("r1", 560, cpu_load_pct=90)).alerts == []
    assert [a.state for a in lp.feed(batch("r1", 620, cpu_load_pct=90)).alerts] == ["open"]


DEVICE_RULE = {"name": "silent", "type": "nodata", "source": "snmp", "nodata": "5m", "severity": "major"}


def test_nodata_rule_opens_for_a_silent_device_and_resolves_when_data_returns() -> None:
    lp = Loop(rules(DEVICE_RULE))
    lp.ev.poll_intervals = {"r1": 60.0, "r2": 60.0, "pingonly": 60.0}
    lp.ev.snmp_devices = {"r1", "r2"}
    lp.feed(batch("r1", 0, cpu_load_pct=1))
    lp.feed(batch("r1", 299, cpu_load_pct=1), batch("r2", 299, source="icmp", ping_rtt_avg_ms=1))
    assert lp.sweep(299)[0] == []
    lp.feed(batch("r1", 301, cpu_load_pct=1))
    sigs, out = lp.sweep(301)
    # r2 never sent SNMP data (its ICMP batches do not count); pingonly is not polled by SNMP
    assert [(s.key, s.firing, s.kind) for s in sigs] == [("silent/r2/", True, "event")]
    assert out.alerts[0].summary == "no data from r2 for 5m1s" and out.alerts[0].severity == "major"
    assert lp.sweep(400)[0] == []  # open once, not again every sweep
    out = lp.feed(batch("r2", 402, cpu_load_pct=1))
    assert [(t.to_state, t.reason) for t in out.transitions] == [("resolved", "data received")]
    out = lp.feed(batch("r2", 390, cpu_load_pct=1))  # an older record replayed: nothing
    assert not out


def test_never_seen_devices_count_from_the_first_batch_of_the_rules_source() -> None:
    """Start-up: events and pings flow a while before the first SNMP batch; no device is "silent" then."""
    lp = Loop(rules(DEVICE_RULE))
    lp.ev.poll_intervals = {"r1": 60.0, "r2": 60.0}
    lp.ev.snmp_devices = {"r1", "r2"}
    lp.feed(ping("r1", 0, 0), batch("r1", 0, source="icmp", ping_rtt_avg_ms=1))
    lp.feed(batch("r2", 400, source="icmp", ping_rtt_avg_ms=1))
    assert lp.sweep(400)[0] == []  # 400 s of input, but no SNMP data at all yet: no clock for it
    lp.feed(batch("r1", 450, cpu_load_pct=1))  # the SNMP collector is up: r2's silence starts here
    lp.feed(batch("r1", 700, cpu_load_pct=1))
    assert lp.sweep(700)[0] == []  # 250 s since the first SNMP batch < 5m
    lp.feed(batch("r1", 760, cpu_load_pct=1))
    sigs, _ = lp.sweep(760)
    assert [(s.key, s.firing) for s in sigs] == [("silent/r2/", True)]


def test_nodata_rule_is_held_by_device_down_and_dropped_when_disabled() -> None:
    rs = rules({**DEVICE_RULE, "source": "any"}, {"name": "down", "type": "device_down", "cycles": 1})
    lp = Loop(rs)
    lp.ev.poll_intervals = {"r1": 60.0, "r2": 60.0}
    lp.feed(ping("r1", 0, 100), ping("r2", 0, 0))  # r1 does not answer: device-down, not "no data"
    lp.feed(batch("x", 0, source="icmp", ping_rtt_avg_ms=1))  # data flows (x's): r2's silence counts
    lp.feed(batch("x", 400, source="icmp", ping_rtt_avg_ms=1))
    sigs, _ = lp.sweep(400)
    assert [s.key for s in sigs] == ["silent/r2/"]
    lp.ev.poll_intervals, lp.ev.disabled_devices = {"r1": 60.0}, {"r2"}  # r2 disabled in the inventory
    sigs, out = lp.sweep(401)
    assert [(s.key, s.firing) for s in sigs] == [("silent/r2/", False)]
    assert [t.reason for t in out.transitions] == ["device not monitored"]


def test_series_nodata_rule_per_instance() -> None:
    rs = rules({"name": "if-silent", "type": "nodata", "metric": "if_in_bps", "nodata": "2m"})
    lp = Loop(rs)
    b = MetricBatch(device="sw", ts=0, metrics=[Metric("if_in_bps", "1", 5.0), Metric("if_in_bps", "2", 5.0)])
    lp.feed(b)
    lp.feed(MetricBatch(device="sw", ts=130, metrics=[Metric("if_in_bps", "1", 5.0)]))
    sigs, out = lp.sweep(130)
    assert [s.key for s in sigs] == ["if-silent/sw/2"]
    assert out.alerts[0].summary == "no if_in_bps 2 data from sw for 2m10s"


FOR = {"name": "cpu", "metric": "cpu_load_pct", "levels": {"warning": 85}, "clear": 75, "for": "5m"}


def test_for_timer_changes_are_reported_for_persistence() -> None:
    ev = Evaluator(rules(FOR, {**CPU, "name": "now"}))  # "now" has no `for`: nothing to persist
    ev.metrics(batch("r1", 0, cpu_load_pct=90))
    assert ev.take_timers() == {("cpu", "r1", ""): (0, 0)}
    ev.metrics(batch("r1", 100, cpu_load_pct=90))
    assert ev.take_timers() == {}  # unchanged: no write per sample
    ev.touch_timers()
    assert ev.take_timers() == {("cpu", "r1", ""): (0, 100)}  # the periodic refresh of `seen`
    ev.metrics(batch("r1", 160, cpu_load_pct=50))
    assert ev.take_timers() == {("cpu", "r1", ""): None}  # cleared: the row goes
    ev.metrics(batch("r2", 170, cpu_load_pct=90))
    ev.set_rules(rules({**FOR, "for": 0}))  # the rule lost its `for`: its timer goes
    assert ev.take_timers() == {("cpu", "r2", ""): None, ("now", "r2", ""): None}  # (a harmless delete)
    ev.set_rules(rules(FOR))
    ev.metrics(batch("r2", 180, cpu_load_pct=50))
    ev.metrics(batch("r4", 190, cpu_load_pct=90))
    ev.take_timers()
    ev.set_rules(rules({**CPU, "name": "other"}))  # the rule is gone
    assert ev.take_timers() == {("cpu", "r4", ""): None}


def test_restored_for_timer_fires_on_time_after_failover() -> None:
    old = Evaluator(rules(FOR))
    old.metrics(batch("r1", 0, cpu_load_pct=90))
    old.metrics(batch("r1", 100, cpu_load_pct=90))
    old.touch_timers()
    rows = [(*k, *v) for k, v in old.take_timers().items() if v is not None]

    fresh = Evaluator(rules(FOR))  # what a new leader did before: the timer starts over
    fresh.metrics(batch("r1", 200, cpu_load_pct=90))
    assert fresh.metrics(batch("r1", 301, cpu_load_pct=90)) == []

    new = Evaluator(rules(FOR))
    assert new.restore_timers([*rows, ("gone", "r1", "", 0.0, 0.0)]) == 1  # unknown rule: left alone
    assert new.metrics(batch("r1", 200, cpu_load_pct=90)) == []
    assert new.metrics(batch("r1", 299, cpu_load_pct=90)) == []
    (sig,) = new.metrics(batch("r1", 301, cpu_load_pct=90))
    assert sig.firing  # 5 minutes after the breach began on the old leader


def test_restored_timer_of_a_series_silent_too_long_starts_over() -> None:
    new = Evaluator(rules(FOR))  # nodata 3x of 60 s = 180 s
    new.restore_timers([("cpu", "r1", "", 0.0, 100.0)])
    assert new.metrics(batch("r1", 290, cpu_load_pct=90)) == []  # silent 190 s: the breach restarts at 290
    assert new.take_timers() == {("cpu", "r1", ""): (290, 290)}
    assert new.metrics(batch("r1", 400, cpu_load_pct=90)) == []


def test_restoring_a_timer_of_a_rule_without_for_deletes_it() -> None:
    new = Evaluator(rules({**FOR, "for": 0}))
    assert new.restore_timers([("cpu", "r1", "", 0.0, 0.0)]) == 0
    assert new.take_timers() == {("cpu", "r1", ""): None}


def test_cleared_alert_is_not_resolved_again_and_a_new_episode_is_watched() -> None:
    lp = Loop(rules(CPU))
    lp.feed(batch("r1", 0, cpu_load_pct=90), batch("r1", 10, cpu_load_pct=10))  # opened, then cleared
    lp.feed(batch("x", 200, cpu_load_pct=1))
    assert lp.sweep(200)[0] == []
    lp.feed(batch("r1", 210, cpu_load_pct=95))  # fires again, then goes silent
    lp.feed(batch("x", 271, cpu_load_pct=1))
    assert [(s.key, s.reason) for s in lp.sweep(271)[0]] == [("cpu/r1/", NO_DATA)]
