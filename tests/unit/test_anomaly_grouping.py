"""Anomaly incidents: series of one device that flag together are one alert, resolved when all are back.

The grouping is pure (:mod:`streams.anomaly.grouping`); the last tests run its
updates through :class:`ModelAlerts` and the real alert engine (no services:
nothing is flushed) to check the alert, its timeline events and that it is
notified once, not once per member.
"""

from __future__ import annotations

import pytest

from netvigil.settings import load_settings
from streams.alerting.engine import Notification, Silence
from streams.anomaly.alerts import ModelAlerts
from streams.anomaly.grouping import (
    JOINED,
    LEFT,
    IncidentGroups,
    SeriesChange,
    incident_key,
    members_from_detail,
    parse_label,
)

DEV = "sw-core1"


def flag(sid: int, metric: str, instance: str, ts: float, score: float, device: str = DEV) -> SeriesChange:
    return SeriesChange(sid, device, metric, instance, ts, True, 950.0 + sid, score, 10.0, 20.0)


def clear(sid: int, ts: float, device: str = DEV) -> SeriesChange:
    return SeriesChange(sid, device, "", "", ts, False)


def test_a_burst_on_one_device_is_one_incident_that_ends_when_all_members_are_back() -> None:
    g = IncidentGroups()
    (u,) = g.observe([flag(1, "if_in_bps", "Gi0/1", 60.0, 0.81), flag(2, "if_out_bps", "Gi0/1", 60.0, 0.93)])
    assert u.opened and u.firing and u.key == incident_key(DEV) == f"anomaly/{DEV}/"
    assert [m.label for m in u.members] == ["if_out_bps Gi0/1", "if_in_bps Gi0/1"], "worst first"
    assert u.worst.series_id == 2 and u.worst.score == 0.93
    assert u.summary == f"2 series anomalous on {DEV}: if_out_bps Gi0/1, if_in_bps Gi0/1 (worst score 0.93)"
    assert u.event_kind == JOINED and u.detail()["joined"] == ["if_in_bps Gi0/1", "if_out_bps Gi0/1"]

    (u,) = g.observe([flag(3, "cpu_load_pct", "", 120.0, 0.7)])
    assert not u.opened and u.firing and [m.label for m in u.joined] == ["cpu_load_pct"]
    assert u.summary.startswith(f"3 series anomalous on {DEV}: ") and u.summary.endswith("(worst score 0.93)")
    assert u.detail()["members"] == {"if_out_bps Gi0/1": 0.93, "if_in_bps Gi0/1": 0.81, "cpu_load_pct": 0.7}

    (u,) = g.observe([clear(2, 180.0)])
    assert u.firing and u.event_kind == LEFT and [m.label for m in u.left] == ["if_out_bps Gi0/1"]
    assert u.worst.series_id == 1, "the worst of those still anomalous"
    assert u.detail()["back"] == {"if_out_bps Gi0/1": 0.93}
    assert g.observe([clear(2, 200.0), clear(99, 200.0)]) == [], "not members: nothing changes"

    (u,) = g.observe([clear(1, 240.0)])
    assert u.firing, "cpu_load_pct is still outside its expected range"
    (u,) = g.observe([clear(3, 300.0)])
    assert not u.firing and u.members == () and DEV not in g
    assert u.summary.startswith(f"3 series anomalous on {DEV}") and u.worst.score == 0.93, (
        "the resolved alert names the whole episode"
    )
    (u,) = g.observe([flag(2, "if_out_bps", "Gi0/1", 400.0, 0.6)])
    assert u.opened, "a flag after the end is a new episode"
    assert u.summary == f"if_out_bps Gi0/1 on {DEV}: 952 outside expected 10..20 (score 0.60)"


def test_devices_are_separate_incidents_and_events_never_share_a_timestamp() -> None:
    g = IncidentGroups()
    out = g.observe([flag(1, "if_in_bps", "1", 60.0, 0.9), flag(5, "if_in_bps", "1", 60.0, 0.9, device="r2")])
    assert [u.device for u in out] == [DEV, "r2"] and all(u.opened for u in out)
    (u,) = g.observe([flag(2, "if_in_bps", "2", 60.0, 0.5)])  # same data time as the opening event
    assert u.event_ts > 60.0 and u.ts == 60.0
    (u,) = g.observe([flag(1, "if_in_bps", "1", 120.0, 0.99)])
    assert u.event_kind is None and u.worst.score == 0.99, "a member flagging again: no event, new worst"
    (u,) = g.observe([clear(2, 130.0), flag(3, "cpu_load_pct", "", 130.0, 0.4)])
    assert u.event_kind == JOINED and [m.label for m in u.left] == ["if_in_bps 2"], "one event, both changes"


def test_an_adopted_incident_clears_when_its_members_are_back() -> None:
    g = IncidentGroups()
    detail = {
        "members": {"if_in_bps Gi0/1": 0.8, "disk_used_pct /var log": 0.5},
        "back": {"cpu_load_pct": 0.9},
    }
    members, back = members_from_detail(detail)
    assert [parse_label(x) for x in members] == [("if_in_bps", "Gi0/1"), ("disk_used_pct", "/var log")]
    assert back == {"cpu_load_pct": 0.9} and members_from_detail({}) == ({}, {})
    fresh = g.observe(
        [flag(1, "if_in_bps", "Gi0/1", 60.0, 0.8), flag(2, "disk_used_pct", "/var log", 60.0, 0.5)]
    )
    g.adopt(DEV, fresh[0].members, last_event=fresh[0].event_ts)
    (u,) = g.observe([clear(1, 100.0)])
    assert u.firing and not u.opened
    (u,) = g.observe([clear(2, 110.0)])
    assert not u.firing
    g.adopt("r9", [])  # members unknown: kept until a flag joins, then it clears with that one
    assert g.observe([clear(7, 10.0, device="r9")]) == [] and "r9" in g
    (u,) = g.observe([flag(7, "cpu_load_pct", "", 20.0, 0.7, device="r9")])
    assert not u.opened and u.firing


@pytest.fixture
def model_alerts() -> tuple[ModelAlerts, list[Notification]]:
    alerts = ModelAlerts(load_settings(environ={}), None, publish_kafka=False)
    notes: list[Notification] = []
    alerts.dispatcher.submit = notes.append  # type: ignore[method-assign]
    return alerts, notes


def test_a_grouped_alert_is_notified_once_and_its_members_are_on_the_timeline(
    model_alerts: tuple[ModelAlerts, list[Notification]],
) -> None:
    alerts, notes = model_alerts
    g = IncidentGroups()
    key = incident_key(DEV)
    steps = [
        [flag(1, "if_in_bps", "Gi0/1", 60.0, 0.81)],
        [flag(2, "if_out_bps", "Gi0/1", 61.0, 0.93), flag(3, "if_in_bps", "Gi0/2", 61.0, 0.5)],
        [clear(1, 180.0)],
        [clear(2, 240.0), clear(3, 240.0)],
    ]
    for step in steps:
        for u in g.observe(step):
            alerts.incident(u, "warning")
    assert [(n.status, n.alert.key) for n in notes] == [("firing", key), ("resolved", key)]
    assert notes[0].alert.score == 0.81 and notes[0].alert.expected_low == 10.0, "the notification has them"
    versions = [a for a in alerts._alerts if a.key == key]
    assert {a.key for a in alerts._alerts} == {key}
    grown = versions[1]
    assert grown.state == "open" and grown.summary.startswith(f"3 series anomalous on {DEV}")
    assert grown.metric == "if_out_bps" and grown.score == 0.93 and grown.value == 952.0
    assert versions[-1].state == "resolved" and "3 series anomalous" in versions[-1].summary
    kinds = [(e[2], e[3]) for e in alerts._events]
    assert kinds.count((JOINED, "anomaly")) == 2 and kinds.count((LEFT, "anomaly")) == 2
    assert [e[5] for e in alerts._events if e[2] == "transition"] == [
        "open",
        "resolved",
    ]


def test_a_silenced_device_keeps_its_incident_quiet(
    model_alerts: tuple[ModelAlerts, list[Notification]],
) -> None:
    alerts, notes = model_alerts
    alerts.engine.set_silences([Silence(1, 0.0, 1e12, device=DEV)], 50.0)
    g = IncidentGroups()
    for step in (
        [flag(1, "if_in_bps", "1", 60.0, 0.8)],
        [flag(2, "if_in_bps", "2", 70.0, 0.8)],
        [clear(1, 90.0)],
    ):
        for u in g.observe(step):
            alerts.incident(u, "warning")
    assert notes == [] and alerts.engine.active[incident_key(DEV)].alert.state == "suppressed"
