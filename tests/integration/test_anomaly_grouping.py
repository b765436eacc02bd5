"""Grouped anomaly alerts through the real anomaly stage, PostgreSQL and a webhook receiver.

A burst across several interfaces (and then the CPU) of one device is one
alert, ``anomaly/<device>/``, notified once when it opens and once when its
last member is back; its members are on the alert's timeline.  An incident
open at a restart is re-adopted from that timeline and clears after it, and
a per-series alert left by the version before grouping resolves too.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

from netvigil.db import connect
from netvigil.settings import Settings
from streams.anomaly.config import AnomalyConfig
from streams.anomaly.stage import AnomalyStage
from streams.anomaly.testing import group, series_ids
from streams.notify.receiver import LocalReceiver

N = 300  # points per series: past the detector's warm-up (150)
SERIES = [
    ("if_in_bps", "Gi0/1"),
    ("if_in_bps", "Gi0/2"),
    ("if_out_bps", "Gi0/1"),
    ("if_in_bps", "Gi0/4"),
    ("cpu_load_pct", ""),
]


def value(metric: str, instance: str, i: int, burst_at: int | None) -> float:
    """Steady series; at ``burst_at`` the first three interface series jump, the CPU one point later."""
    k = SERIES.index((metric, instance))
    if metric == "cpu_load_pct":
        return 95.0 if burst_at is not None and i == burst_at + 1 else 40.0 + 0.5 * math.sin(i / 7)
    if burst_at is not None and i == burst_at and k < 3:
        return 9e6
    return 1e6 * (1 + 0.01 * math.sin(i / 5 + k))


def with_hook(settings: Settings, hook: LocalReceiver, tmp_path: Path) -> Settings:
    path = tmp_path / "notifications.json"  # JSON is YAML
    path.write_text(
        json.dumps(
            {
                "receivers": [{"name": "hook", "type": "webhook", "url": f"{hook.url}/a"}],
                "routes": [{"receivers": ["hook"]}],
            }
        )
    )
    streams = msgspec.structs.replace(settings.streams, notifications_file=str(path))
    return msgspec.structs.replace(settings, streams=streams)


def config(u: str) -> AnomalyConfig:
    return AnomalyConfig(registry_family=f"online-{u}", flush_interval=0.1, thresholds_from_rules=False)


async def feed(
    stage: AnomalyStage, device: str, ids: list[int], t0: float, span: range, burst_at: int | None
) -> None:
    for i in span:
        values = [(m, inst, value(m, inst, i, burst_at)) for m, inst in SERIES]
        await stage.process([group(device, t0 + 60 * i, values, ids)])
    await stage.flush()


def alerts_of(settings: Settings, device: str) -> list[tuple[str, str, str, str, float]]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT key, state, summary, metric, score FROM alerts WHERE device = %s AND kind = 'anomaly'",
            (device,),
        ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def timeline(settings: Settings, key: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT kind, to_state, detail FROM alert_events WHERE key = %s ORDER BY ts, id", (key,)
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def statuses(hook: LocalReceiver) -> list[tuple[str, str]]:
    """(status, key) of what the receiver got, sorted: the dispatcher's workers deliver concurrently."""
    return sorted((r.body["status"], r.body["commonAnnotations"]["key"]) for r in hook.requests)


async def test_a_burst_across_interfaces_is_one_alert_and_one_notification(
    pg_stack: Settings, hook: LocalReceiver, tmp_path: Path
) -> None:
    u = uuid.uuid4().hex[:8]
    settings = with_hook(pg_stack, hook, tmp_path)
    device = f"grp-{u}-sw"
    ids = series_ids(settings, device, SERIES)
    stage = AnomalyStage(settings, config(u), publish_kafka=False)
    await stage.start()
    try:
        await feed(stage, device, ids, time.time() - N * 60, range(N), burst_at=250)
    finally:
        await stage.stop()  # drains the notifications
    key = f"anomaly/{device}/"
    found = alerts_of(settings, device)
    assert [(k, state) for k, state, *_ in found] == [(key, "resolved")], found
    summary, metric, score = found[0][2:]
    assert summary.startswith(f"4 series anomalous on {device}: "), summary
    for name in ("if_in_bps Gi0/1", "if_in_bps Gi0/2", "if_out_bps Gi0/1", "cpu_load_pct"):
        assert name in summary
    assert "Gi0/4" not in summary and score > 0.5 and metric in ("if_in_bps", "if_out_bps", "cpu_load_pct")
    assert statuses(hook) == [("firing", key), ("resolved", key)], "one notification, not one per member"
    (fired,) = [r.body for r in hook.requests if r.body["status"] == "firing"]
    assert fired["commonAnnotations"]["summary"].startswith(f"3 series anomalous on {device}: "), (
        "the burst's interfaces flagged in one batch: the notification names all three"
    )
    events = timeline(settings, key)
    joined = [d for kind, _, d in events if kind == "member_joined"]
    assert sorted(joined[0]["joined"]) == ["if_in_bps Gi0/1", "if_in_bps Gi0/2", "if_out_bps Gi0/1"]
    assert joined[1]["joined"] == ["cpu_load_pct"] and len(joined[1]["members"]) == 4
    cleared = [d for kind, _, d in events if kind == "member_cleared"]
    assert cleared and cleared[-1]["members"] == {} and len(cleared[-1]["back"]) == 4
    assert [s for kind, s, _ in events if kind == "transition"] == ["open", "resolved"]
    assert [kind for kind, _, _ in events].count("notify") == 2


async def test_an_incident_open_at_a_restart_is_re_adopted_and_clears(
    pg_stack: Settings, hook: LocalReceiver, tmp_path: Path
) -> None:
    u = uuid.uuid4().hex[:8]
    settings = with_hook(pg_stack, hook, tmp_path)
    device, old = f"grp-{u}-open", f"grp-{u}-legacy"
    ids, old_ids = series_ids(settings, device, SERIES), series_ids(settings, old, SERIES)
    t0 = time.time() - (N + 10) * 60
    state = tmp_path / "state"
    first = AnomalyStage(settings, config(u), state_dir=state, publish_kafka=False)
    await first.start()
    try:
        await feed(first, device, ids, t0, range(N), burst_at=N - 2)  # the burst is the last two points
        await feed(first, old, old_ids, t0, range(N), burst_at=None)
    finally:
        await first.stop()
    key, legacy = f"anomaly/{device}/", f"anomaly:cpu_load_pct/{old}/"
    assert [a[1] for a in alerts_of(settings, device)] == ["open"]
    with connect(settings) as conn:  # what the version without grouping left open
        conn.execute(
            "INSERT INTO alerts (key, rule, device, instance, metric, kind, severity, state, summary,"
            " started, updated) VALUES (%s, 'anomaly:cpu_load_pct', %s, '', 'cpu_load_pct', 'anomaly',"
            " 'warning', 'open', 'cpu_load_pct on old: 95 outside', now(), now())",
            (legacy, old),
        )
        conn.commit()

    second = AnomalyStage(settings, config(u), state_dir=state, publish_kafka=False)
    await second.start()
    try:
        adopted = second.incidents.incidents[device]
        assert sorted(m.label for m in adopted.members.values()) == [
            "cpu_load_pct",
            "if_in_bps Gi0/1",
            "if_in_bps Gi0/2",
            "if_out_bps Gi0/1",
        ]
        await feed(second, device, ids, t0, range(N, N + 2), burst_at=None)
        assert [a[1] for a in alerts_of(settings, device)] == ["open"], "not every member is back yet"
        await feed(second, device, ids, t0, range(N + 2, N + 10), burst_at=None)
        await feed(second, old, old_ids, t0, range(N, N + 10), burst_at=None)
    finally:
        await second.stop()
    assert [a[1] for a in alerts_of(settings, device)] == ["resolved"]
    assert sorted(a[:2] for a in alerts_of(settings, old)) == [(legacy, "resolved")], "no grouped one opened"
    assert statuses(hook) == sorted([("firing", key), ("resolved", key), ("resolved", legacy)]), (
        "an adopted alert is not notified again when adopted, only when it resolves"
    )
