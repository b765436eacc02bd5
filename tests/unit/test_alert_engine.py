"""The alert lifecycle state machine, driven with plain timestamps."""

from __future__ import annotations

import msgspec

from streams.alerting.engine import Engine, Outcome, Policy, Silence
from streams.alerting.evaluate import Signal
from streams.alerting.rules import Rule, parse_rules


def fire(
    rule: str, device: str, ts: float, severity: str = "warning", instance: str = "", kind: str = "threshold"
) -> Signal:
    return Signal(rule, device, instance, True, ts, severity, "m", kind, 1.0, 0.5, f"{rule} on {device}")


def clear(rule: str, device: str, ts: float, instance: str = "") -> Signal:
    return Signal(rule, device, instance, False, ts)


def states(out: Outcome) -> list[tuple[str | None, str]]:
    return [(t.from_state, t.to_state) for t in out.transitions]


def test_open_dedup_escalate_severity_and_resolve() -> None:
    e = Engine()
    out = e.apply(fire("cpu", "r1", 0))
    assert states(out) == [(None, "open")]
    assert [n.status for n in out.notifications] == ["firing"]
    out = e.apply(fire("cpu", "r1", 10))
    assert not out.transitions and not out.notifications  # same condition: one alert, no renotify
    out = e.apply(fire("cpu", "r1", 20, "critical"))
    assert states(out) == [("open", "open")] and out.alerts[-1].severity == "critical"
    assert out.transitions[0].reason == "severity raised to critical"
    assert len(out.notifications) == 1
    out = e.apply(fire("cpu", "r1", 30, "warning"))
    assert not out.transitions  # severity never drops within an alert
    out = e.apply(clear("cpu", "r1", 40))
    assert states(out) == [("open", "resolved")]
    assert [n.status for n in out.notifications] == ["resolved"]
    assert e.active == {}
    assert e.apply(clear("cpu", "r1", 50)).transitions == []


def test_refresh_republishes_value_at_most_every_interval() -> None:
    e = Engine(Policy(refresh_interval=60))
    e.apply(fire("cpu", "r1", 0))
    assert e.apply(fire("cpu", "r1", 30)).alerts == []
    assert len(e.apply(fire("cpu", "r1", 61)).alerts) == 1


def test_acknowledged_alert_is_not_renotified_nor_escalated() -> None:
    rs = parse_rules(
        {"rules": [{"name": "cpu", "metric": "m", "levels": {"warning": 1}, "escalate_after": 60}]}
    )
    e = Engine(rule_of=rs.get)
    e.apply(fire("cpu", "r1", 0))
    out = e.acknowledge("cpu/r1/", "alice", 5)
    assert out.alerts[0].state == "acknowledged" and not out.transitions  # the app wrote the event
    assert e.apply(fire("cpu", "r1", 10, "critical")).notifications == []
    assert e.tick(120).notifications == []
    out = e.apply(clear("cpu", "r1", 130))
    assert states(out) == [("acknowledged", "resolved")]


def test_reload_respects_acknowledged_and_does_not_renotify() -> None:
    e = Engine()
    out = e.apply(fire("cpu", "r1", 0))
    alert = msgspec.structs.replace(out.alerts[0], state="acknowledged")
    rs = parse_rules({"rules": [{"name": "cpu", "metric": "m", "levels": {"warning": 1}}]})
    e2 = Engine(rule_of=rs.get)
    other = msgspec.structs.replace(alert, key="x/r1/", rule="x")  # not this engine's rule: left alone
    anomaly = msgspec.structs.replace(alert, key="cpu/r2/", kind="anomaly")
    e2.load([alert, other, anomaly])
    assert set(e2.active) == {"cpu/r1/"}
    assert e2.apply(fire("cpu", "r1", 10)).notifications == []
    assert e2.apply(fire("cpu", "r1", 20, "critical")).notifications == []
    out = e2.apply(clear("cpu", "r1", 30))
    assert [n.status for n in out.notifications] == ["resolved"]


def test_flapping_makes_one_alert_and_mutes_until_stable() -> None:
    e = Engine(Policy(flap_changes=4, flap_window=600, flap_stable=120))
    notes = []
    keys = set()
    t = 0.0
    for _ in range(20):
        for sig in (fire("ifdown", "sw", t, "major", "3"), clear("ifdown", "sw", t + 1, "3")):
            out = e.apply(sig)
            notes += out.notifications
            keys |= {a.key for a in out.alerts}
        t += 2
    assert keys == {"ifdown/sw/3"}
    assert e.active["ifdown/sw/3"].alert.flapping
    assert len(notes) <= 5  # open, resolved, open, resolved, then one "flapping"
    assert notes[-1].reason == "flapping"
    out = e.tick(t + 60)
    assert out.notifications == []  # not yet stable
    out = e.tick(t + 700)
    assert [ev.kind for ev in out.events] == ["flapping_end"]
    assert states(out) == [("open", "resolved")]
    assert [n.status for n in out.notifications] == ["resolved"]


def test_parent_down_suppresses_children_and_names_root_cause() -> None:
    e = Engine(parents={"sw": "core", "srv": "sw", "core": None})
    out = e.apply(fire("cpu", "srv", 0))
    assert out.alerts[-1].state == "open"
    out = e.apply(fire("down", "core", 10, "critical", kind="device"))
    root = "down/core/"
    by_key = {a.key: a for a in out.alerts}
    assert by_key[root].state == "open"
    assert by_key["cpu/srv/"].state == "suppressed" and by_key["cpu/srv/"].root_cause == root
    assert [n.alert.key for n in out.notifications] == [root]
    out = e.apply(fire("down", "sw", 11, "critical", kind="device"))
    assert out.alerts[-1].state == "suppressed" and out.alerts[-1].root_cause == root
    assert out.notifications == []
    # the parent comes back: the child's alert that still holds reopens, the cleared one resolves
    e.apply(clear("down", "sw", 12))
    out = e.apply(clear("down", "core", 20))
    by_key = {a.key: a for a in out.alerts}
    assert by_key[root].state == "resolved"
    assert by_key["cpu/srv/"].state == "open" and by_key["cpu/srv/"].root_cause is None
    assert "down/sw/" not in e.active


def test_root_cause_is_the_highest_ancestor_down() -> None:
    e = Engine(parents={"sw": "core", "srv": "sw"})
    e.apply(fire("down", "sw", 0, "critical", kind="device"))
    out = e.apply(fire("cpu", "srv", 1))
    assert out.alerts[-1].root_cause == "down/sw/"
    out = e.apply(fire("down", "core", 2, "critical", kind="device"))
    assert {a.key: a.root_cause for a in out.alerts} == {"down/core/": None, "down/sw/": "down/core/"}
    out = e.tick(3)
    assert {a.key: a.root_cause for a in out.alerts} == {"cpu/srv/": "down/core/"}


def test_silence_records_but_does_not_notify_and_reopens_after() -> None:
    e = Engine(device_tags={"r1": {"site": "paris"}})
    e.set_silences([Silence(1, 0, 100, device="r*", tags={"site": "paris"})], 0)
    out = e.apply(fire("cpu", "r1", 10))
    assert states(out) == [(None, "suppressed")]
    assert out.transitions[0].reason == "silenced by maintenance window #1"
    assert out.notifications == []
    out = e.tick(150)  # the window ended, the condition still holds
    assert states(out) == [("suppressed", "open")]
    assert [n.status for n in out.notifications] == ["firing"]


def test_silence_on_open_alert_and_clear_while_silenced() -> None:
    e = Engine()
    e.apply(fire("cpu", "r1", 0))
    out = e.set_silences([Silence(2, 5, 100, rule="cpu")], 10)
    assert states(out) == [("open", "suppressed")]
    out = e.apply(clear("cpu", "r1", 20))
    assert states(out) == [("suppressed", "resolved")]
    assert [n.status for n in out.notifications] == ["resolved"]  # it had been notified firing


def test_escalation_after_unacknowledged_time() -> None:
    rs = parse_rules(
        {"rules": [{"name": "cpu", "metric": "m", "levels": {"warning": 1}, "escalate_after": "5m"}]}
    )
    e = Engine(rule_of=rs.get)
    e.apply(fire("cpu", "r1", 0))
    assert e.tick(200).notifications == []
    out = e.tick(301)
    assert [ev.kind for ev in out.events] == ["escalation"]
    assert out.alerts[-1].severity == "minor"
    assert out.notifications[0].escalated
    assert e.tick(1000).notifications == []  # once


def test_event_alerts_resolve_after_quiet_period() -> None:
    rs = parse_rules(
        {"rules": [{"name": "auth", "type": "trap", "trap": "authenticationFailure", "resolve_after": 60}]}
    )
    e = Engine(rule_of=rs.get)
    e.apply(fire("auth", "r1", 0, kind="event"))
    e.apply(fire("auth", "r1", 50, kind="event"))
    assert e.tick(100).transitions == []
    assert states(e.tick(111)) == [("open", "resolved")]


def test_remediation_requested_on_open_only_when_bound() -> None:
    rs = parse_rules(
        {
            "rules": [
                {"name": "down", "type": "device_down", "remediation": {"action": "collect_diagnostics"}},
                {"name": "cpu", "metric": "m", "levels": {"warning": 1}},
            ]
        }
    )
    rule_of: dict[str, Rule] = {r.name: r for r in rs.rules}
    e = Engine(rule_of=rule_of.get)
    assert e.apply(fire("cpu", "r1", 0)).remediations == []
    out = e.apply(fire("down", "r1", 0, kind="device"))
    assert [(a.key, r) for a, r in out.remediations] == [("down/r1/", "down")]
    assert e.apply(fire("down", "r1", 5, kind="device")).remediations == []


def test_counts_by_state_and_severity() -> None:
    e = Engine()
    e.apply(fire("a", "r1", 0, "major"))
    e.apply(fire("b", "r1", 0, "major"))
    e.acknowledge("b/r1/", "bob", 1)
    assert e.counts() == {("open", "major"): 1, ("acknowledged", "major"): 1}
