"""Rules: parsing, strict errors, selection, and the evaluator's per-series state."""

from __future__ import annotations

from pathlib import Path

import pytest

from netvigil.records import Metric, MetricBatch, PingResult, SyslogMessage, Trap, VarBind
from streams.alerting.evaluate import Evaluator
from streams.alerting.rules import RuleError, load_rule_file, merge, parse_duration, parse_rules

ROOT = Path(__file__).resolve().parents[2]


def rules(*items: dict) -> object:
    return parse_rules({"rules": list(items)})


def batch(device: str, ts: float, **values: float) -> MetricBatch:
    return MetricBatch(device=device, ts=ts, metrics=[Metric(k, "", v) for k, v in values.items()])


def test_shipped_rule_file_is_valid() -> None:
    rs = load_rule_file(ROOT / "config" / "rules.yaml")
    names = {r.name for r in rs.rules}
    assert {"device-down", "interface-down", "cpu-high", "disk-full"} <= names


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"name": "a", "metric": "x", "levels": {"warning": 1}, "colour": "red"},
            "rule 'a': unknown key 'colour'",
        ),
        (
            {"name": "b", "metric": "x", "levels": {"severe": 1}},
            "rule 'b': key 'levels': unknown level 'severe'",
        ),
        ({"name": "c", "levels": {"warning": 1}}, "rule 'c': key 'metric' is required"),
        ({"name": "d", "metric": "x", "levels": {"warning": 9, "critical": 5}}, "rule 'd': key 'levels'"),
        ({"name": "e", "metric": "x", "levels": {"warning": 5}, "clear": 7}, "rule 'e': key 'clear'"),
        ({"name": "f", "metric": "x", "levels": {"warning": 5}, "for": "soon"}, "rule 'f': key 'for'"),
        ({"name": "g", "type": "syslog", "pattern": "("}, "rule 'g': key 'pattern': invalid regex"),
        (
            {"name": "h", "metric": "x", "levels": {"warning": 5}, "match": {"host": "a"}},
            "unknown key 'match.host'",
        ),
        ({"name": "i", "type": "bogus"}, "rule 'i': key 'type'"),
    ],
)
def test_invalid_rules_name_rule_and_key(rule: dict, message: str) -> None:
    with pytest.raises(RuleError) as exc:
        rules(rule)
    assert message in str(exc.value)


def test_duplicate_rule_names_refused() -> None:
    with pytest.raises(RuleError, match="defined twice"):
        rules({"name": "a", "type": "device_down"}, {"name": "a", "type": "device_down"})


def test_durations() -> None:
    assert parse_duration("90s", "x") == 90
    assert parse_duration("5m", "x") == 300
    assert parse_duration(2, "x") == 2
    with pytest.raises(RuleError):
        parse_duration(-1, "x")


def test_db_rows_override_file_rules_and_can_disable() -> None:
    file_rules = rules(
        {"name": "cpu", "metric": "cpu_load_pct", "levels": {"warning": 80}},
        {"name": "mem", "metric": "mem_used_pct", "levels": {"warning": 80}},
    )
    merged = merge(
        file_rules,  # type: ignore[arg-type]
        [
            ("cpu", {"metric": "cpu_load_pct", "levels": {"warning": 50}}, True),
            ("mem", {}, False),
        ],
    )
    assert [r.name for r in merged.rules] == ["cpu"]
    assert merged.rules[0].levels == (("warning", 50.0),)


def test_threshold_for_duration_hysteresis_and_escalating_levels() -> None:
    rs = rules(
        {
            "name": "cpu",
            "metric": "cpu_load_pct",
            "levels": {"warning": 80, "critical": 95},
            "clear": 70,
            "for": "60s",
        }
    )
    ev = Evaluator(rs)  # type: ignore[arg-type]
    assert ev.metrics(batch("r1", 0, cpu_load_pct=85)) == []  # breached, not for long enough
    assert ev.metrics(batch("r1", 30, cpu_load_pct=85)) == []
    (sig,) = ev.metrics(batch("r1", 61, cpu_load_pct=86))
    assert sig.firing and sig.severity == "warning" and sig.threshold == 80 and sig.key == "cpu/r1/"
    (sig,) = ev.metrics(batch("r1", 90, cpu_load_pct=97))
    assert sig.severity == "critical"
    assert ev.metrics(batch("r1", 120, cpu_load_pct=75)) == []  # between clear and warning: still active
    (sig,) = ev.metrics(batch("r1", 150, cpu_load_pct=60))
    assert not sig.firing
    assert ev.metrics(batch("r1", 180, cpu_load_pct=60)) == []
    # a dip below the level restarts the "for" clock
    ev.metrics(batch("r1", 200, cpu_load_pct=85))
    ev.metrics(batch("r1", 230, cpu_load_pct=50))
    assert ev.metrics(batch("r1", 262, cpu_load_pct=85)) == []


def test_below_direction_and_selectors() -> None:
    rs = rules(
        {
            "name": "low-disk-free",
            "metric": "free",
            "direction": "below",
            "levels": {"warning": 20, "critical": 5},
            "match": {"device": "db-*", "tags": {"role": "db"}},
        }
    )
    ev = Evaluator(rs, {"db-1": {"role": "db"}, "db-2": {"role": "web"}})  # type: ignore[arg-type]
    assert ev.metrics(batch("web-1", 0, free=1)) == []
    assert ev.metrics(batch("db-2", 0, free=1)) == []
    (sig,) = ev.metrics(batch("db-1", 0, free=1))
    assert sig.severity == "critical"


@pytest.mark.parametrize(
    "match",
    [{}, {"device": "*"}, {"instance": "*"}, {"instance": ""}, {"device": "db-*"}, {"tags": {"role": "db"}},
     {"device": "*", "instance": "*", "tags": {}}],
)  # fmt: skip
def test_a_selector_that_matches_everything_says_so(match: dict) -> None:
    """The evaluator skips ``matches`` for such selectors: it must then be true for any series."""
    (rule,) = rules({"name": "r", "metric": "m", "levels": {"warning": 1}, "match": match}).rules  # type: ignore[attr-defined]
    probes = [("db-1", "", {"role": "db"}), ("web-1", "3", {}), ("", "x", {"role": "web"})]
    answers = {rule.match.matches(d, i, t) for d, i, t in probes}
    if rule.match.matches_everything():
        assert answers == {True}
    else:
        assert answers == {True, False}


def test_flagged_values_are_not_alerted() -> None:
    rs = rules({"name": "u", "metric": "if_in_util_pct", "levels": {"warning": 80}})
    ev = Evaluator(rs)  # type: ignore[arg-type]
    b = MetricBatch(
        device="r",
        ts=0,
        metrics=[Metric("if_in_util_pct", "3", 400)],
        flags={"if_in_util_pct|3": "above_speed"},
    )
    assert ev.metrics(b) == []


def test_rate_of_change_per_minute() -> None:
    rs = rules({"name": "fill", "type": "rate", "metric": "disk_used_pct", "levels": {"warning": 1}})
    ev = Evaluator(rs)  # type: ignore[arg-type]
    assert ev.metrics(batch("s", 0, disk_used_pct=50)) == []  # no previous value
    assert ev.metrics(batch("s", 60, disk_used_pct=50.5)) == []  # 0.5 per minute
    (sig,) = ev.metrics(batch("s", 90, disk_used_pct=52))  # 3 per minute
    assert sig.firing and sig.value == pytest.approx(3.0)


def ping(device: str, ts: float, loss: float) -> PingResult:
    return PingResult(
        device=device, address="127.0.0.1", ts=ts, sent=3, received=0 if loss == 100 else 3, loss_pct=loss
    )


def test_device_down_after_n_lost_cycles_and_clear() -> None:
    ev = Evaluator(rules({"name": "down", "type": "device_down", "cycles": 3, "severity": "critical"}))  # type: ignore[arg-type]
    assert ev.ping(ping("r", 0, 100)) == []
    assert ev.ping(ping("r", 10, 100)) == []
    (sig,) = ev.ping(ping("r", 20, 100))
    assert sig.firing and sig.kind == "device" and sig.severity == "critical"
    (sig,) = ev.ping(ping("r", 30, 0))
    assert not sig.firing
    assert ev.ping(ping("r", 40, 0)) == []


def trap(name: str, oid: str, ifindex: int = 0, **binds: str) -> Trap:
    vbs = (
        [VarBind(f"1.3.6.1.2.1.2.2.1.1.{ifindex}", f"ifIndex.{ifindex}", "Integer", str(ifindex))]
        if ifindex
        else []
    )
    vbs += [VarBind("1.2.3", k, "OctetString", v) for k, v in binds.items()]
    return Trap(
        ts=1.0,
        source="127.0.0.9:162",
        device="sw1",
        version="v2c",
        trap_oid=oid,
        trap_name=name,
        varbinds=vbs,
    )


def test_interface_down_from_traps_and_oper_status() -> None:
    ev = Evaluator(rules({"name": "ifdown", "type": "interface_down"}))  # type: ignore[arg-type]
    (sig,) = ev.trap(trap("linkDown", "1.3.6.1.6.3.1.1.5.3", 7))
    assert sig.firing and sig.instance == "7" and sig.key == "ifdown/sw1/7"
    (sig,) = ev.trap(trap("linkUp", "1.3.6.1.6.3.1.1.5.4", 7))
    assert not sig.firing
    b = MetricBatch(device="sw1", ts=5, metrics=[Metric("if_oper_status", "3", 2)])
    (sig,) = ev.metrics(b)
    assert sig.firing and sig.instance == "3"
    (sig,) = ev.metrics(MetricBatch(device="sw1", ts=6, metrics=[Metric("if_oper_status", "3", 1)]))
    assert not sig.firing


def test_interface_shut_down_by_admin_is_not_down() -> None:
    ev = Evaluator(rules({"name": "ifdown", "type": "interface_down"}))  # type: ignore[arg-type]
    b = MetricBatch(
        device="sw1", ts=5, metrics=[Metric("if_admin_status", "4", 2), Metric("if_oper_status", "4", 2)]
    )
    assert ev.metrics(b) == []


def test_link_down_trap_of_an_admin_shut_interface_is_not_down() -> None:
    ev = Evaluator(rules({"name": "ifdown", "type": "interface_down"}))  # type: ignore[arg-type]
    t = trap("linkDown", "1.3.6.1.6.3.1.1.5.3", 5)
    t = Trap(
        **{
            **{f: getattr(t, f) for f in t.__struct_fields__},
            "varbinds": [*t.varbinds, VarBind("1.3.6.1.2.1.2.2.1.7.5", "ifAdminStatus.5", "Integer", "2")],
        }
    )
    assert ev.trap(t) == []


def test_trap_pattern_with_varbind_regex_and_clear_trap() -> None:
    rs = rules(
        {
            "name": "bgp",
            "type": "trap",
            "trap": "bgpBackwardTransition",
            "clear_trap": "bgpEstablished",
            "varbinds": {"bgpPeerState": "^(1|idle)$"},
            "severity": "critical",
        }
    )
    ev = Evaluator(rs)  # type: ignore[arg-type]
    assert ev.trap(trap("bgpBackwardTransition", "1.3.6.1.2.1.15.7.2", bgpPeerState="6")) == []
    (sig,) = ev.trap(trap("bgpBackwardTransition", "1.3.6.1.2.1.15.7.2", bgpPeerState="idle"))
    assert sig.firing and sig.severity == "critical" and sig.kind == "event"
    (sig,) = ev.trap(trap("bgpEstablished", "1.3.6.1.2.1.15.7.1"))
    assert not sig.firing


def test_syslog_severity_and_regex() -> None:
    rs = rules({"name": "updown", "type": "syslog", "max_severity": 5, "pattern": "UPDOWN", "app": "^%?LINK"})
    ev = Evaluator(rs)  # type: ignore[arg-type]

    def msg(sev: int, text: str, app: str = "LINK") -> SyslogMessage:
        return SyslogMessage(
            ts=1, source="127.0.0.5:514", hostname="sw2", severity=sev, app=app, message=text
        )

    assert ev.syslog(msg(6, "Interface Gi0/1 UPDOWN")) == []  # informational: above max_severity
    assert ev.syslog(msg(3, "something else")) == []
    assert ev.syslog(msg(3, "UPDOWN", app="SYS")) == []
    (sig,) = ev.syslog(msg(3, "Interface Gi0/1 changed state UPDOWN"))
    assert sig.device == "sw2" and sig.firing


def test_policy_section() -> None:
    rs = parse_rules(
        {"policy": {"flap_changes": 6, "flap_window": "5m", "escalate_after": "30m"}, "rules": []}
    )
    assert rs.policy.seconds() == (6, 300.0, 300.0, 1800.0)
    with pytest.raises(RuleError, match="policy"):
        parse_rules({"policy": {"flap_count": 3}})
    with pytest.raises(RuleError, match="flap_window"):
        parse_rules({"policy": {"flap_window": "often"}})


def test_restored_conditions_clear_after_restart() -> None:
    rs = rules(
        {"name": "cpu", "metric": "cpu_load_pct", "levels": {"warning": 80}, "clear": 70},
        {"name": "down", "type": "device_down", "cycles": 3},
    )
    ev = Evaluator(rs)  # type: ignore[arg-type]
    ev.restore([("cpu", "r1", ""), ("down", "r2", "")])
    (sig,) = ev.metrics(batch("r1", 0, cpu_load_pct=10))
    assert not sig.firing
    (sig,) = ev.ping(ping("r2", 0, 100))  # still down: keeps firing at once, no new 3-cycle wait
    assert sig.firing
    (sig,) = ev.ping(ping("r2", 1, 0))
    assert not sig.firing
