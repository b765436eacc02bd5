"""The app's queries against the real test PostgreSQL, read through the read-only role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from app_streamlit.data import alerts, devices, events, models, overview, topology
from app_streamlit.seed import Fleet, purge, seed_all
from netvigil.db import connect
from netvigil.settings import Settings

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def seeded(pg_stack: Settings) -> Iterator[tuple[Settings, str, Fleet, list[str]]]:
    prefix = f"appq{uuid.uuid4().hex[:6]}_"
    with connect(pg_stack) as conn:
        fleet, keys = seed_all(conn, prefix, NOW)
        conn.commit()
    yield pg_stack, prefix, fleet, keys
    with connect(pg_stack) as conn:
        purge(conn, prefix)
        conn.commit()


@pytest.fixture()
def ro(seeded: tuple[Settings, str, Fleet, list[str]]) -> Iterator[psycopg.Connection]:
    with connect(seeded[0], readonly=True, autocommit=True) as conn:
        yield conn


def test_readonly_role_cannot_read_credentials_or_write(ro: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ro.execute("SELECT * FROM device_credentials")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ro.execute("DELETE FROM alerts")


def test_overview(ro: psycopg.Connection, seeded: tuple[Settings, str, Fleet, list[str]]) -> None:
    _, prefix, fleet, _ = seeded
    assert overview.devices_by_status(ro)["devices"].sum() >= len(fleet.devices)
    assert {"critical", "major"} <= set(overview.active_alerts_by_severity(ro)["severity"])
    hot = overview.hot_spots(ro, NOW + timedelta(seconds=1), limit=10000)
    busiest = hot["interfaces"]
    assert (busiest["device"].str.startswith(prefix)).any()
    assert busiest["in_bps"].notna().any() and busiest["interface"].notna().any()
    cpu = hot["cpu"]
    assert cpu[cpu["device"].str.startswith(prefix)]["busy_pct"].between(0, 300).all()
    disks = hot["disks"]
    assert set(disks[disks["device"].str.startswith(prefix)]["mount"]) == {"/", "/var"}
    rate = overview.anomaly_rate(ro, NOW + timedelta(minutes=1))
    assert rate["anomalies"].sum() > 0
    health = overview.pipeline_health(ro, NOW)
    assert f"{prefix}worker" in set(health["component"])
    last = overview.last_data(ro, NOW + timedelta(minutes=1))
    assert last.set_index("data").loc["1 m rollups", "newest"] is not None


def test_inventory_search_and_status(
    ro: psycopg.Connection, seeded: tuple[Settings, str, Fleet, list[str]]
) -> None:
    _, prefix, fleet, _ = seeded
    inv = devices.inventory(ro, prefix)
    assert list(inv["name"]) == fleet.devices
    assert inv.set_index("name").loc[fleet.devices[0], "open_alerts"] == 2
    assert list(devices.inventory(ro, fleet.devices[3])["name"]) == [fleet.devices[3]]
    assert devices.inventory(ro, prefix.rstrip("_") + "%").empty  # % is literal, not a wildcard
    assert set(devices.inventory(ro, prefix, status=["up"])["status"]) == {"up"}


def test_series_source_follows_range(
    ro: psycopg.Connection, seeded: tuple[Settings, str, Fleet, list[str]]
) -> None:
    dev = seeded[2].devices[0]
    short = devices.series_data(
        ro, dev, ["cpu_user_pct"], NOW - timedelta(hours=1), NOW + timedelta(minutes=1)
    )
    assert set(short["source"]) == {"raw"} and 55 <= len(short) <= 62
    day = devices.series_data(ro, dev, ["cpu_user_pct"], NOW - timedelta(days=1), NOW)
    assert set(day["source"]) == {"1m"} and len(day) == 1440
    week = devices.series_data(ro, dev, ["cpu_user_pct", "if_in_bps"], NOW - timedelta(days=7), NOW)
    assert set(week["source"]) == {"1h"}
    assert set(week["instance"]) == {"", "1", "2"}
    one_if = devices.series_data(ro, dev, ["if_in_bps"], NOW - timedelta(days=1), NOW, instances=["2"])
    assert set(one_if["instance"]) == {"2"}
    assert len(devices.interfaces(ro, dev)) == 2
    assert len(devices.device_info(ro, dev)) == 1


def test_anomalies_and_forecasts(
    ro: psycopg.Connection, seeded: tuple[Settings, str, Fleet, list[str]]
) -> None:
    dev = seeded[2].devices[0]
    scores = devices.anomalies(ro, dev, ["cpu_user_pct", "if_in_bps"], NOW - timedelta(hours=6), NOW)
    assert scores["is_anomaly"].any() and scores["expected_high"].notna().all()
    thinned = devices.anomalies(ro, dev, ["cpu_user_pct"], NOW - timedelta(days=7), NOW)
    assert len(thinned) <= 7  # hourly buckets over the 6 scored hours
    fc = devices.forecasts(ro, dev, ["disk_used_pct"], NOW - timedelta(days=1))
    assert len(fc) == 1 and fc.iloc[0]["threshold"] == 90


def test_alerts_filters_timeline_groups(
    ro: psycopg.Connection, seeded: tuple[Settings, str, Fleet, list[str]]
) -> None:
    _, prefix, _fleet, keys = seeded
    mine = alerts.alert_list(ro, states=[], device=prefix)
    assert set(mine["key"]) == set(keys)
    assert set(alerts.alert_list(ro, ["critical"], [], prefix)["key"]) == {keys[0]}
    assert set(alerts.alert_list(ro, [], ["acknowledged"], prefix)["key"]) == {keys[4]}
    assert len(alerts.alert_list(ro, [], [], "", f"team={prefix}")) == 5
    assert len(alerts.alert_list(ro, [], [], prefix, "team")) == 5
    assert alerts.alert_list(ro, [], [], prefix, "team=nobody").empty
    groups = alerts.group_by_root_cause(mine)
    root, group = groups[0]
    assert root == keys[0] and next(iter(group["key"])) == keys[0] and len(group) == 3
    timeline = alerts.alert_timeline(ro, keys[0])
    assert list(timeline["kind"]) == ["transition", "notify", "remediation"]
    assert alerts.alert_by_key(ro, keys[1]).iloc[0]["root_cause"] == keys[0]


def test_events_search_and_csv(
    ro: psycopg.Connection, seeded: tuple[Settings, str, Fleet, list[str]]
) -> None:
    _, prefix, _fleet, _ = seeded
    start, end = NOW - timedelta(days=1), NOW + timedelta(minutes=1)
    every = events.search_events(ro, start, end, device=prefix)
    assert set(every["kind"]) == {"trap", "syslog"}
    ssh = events.search_events(ro, start, end, "syslog", prefix, text="failed password")
    assert len(ssh) > 0 and ssh["message"].str.contains("Failed password").all()
    severe = events.search_events(ro, start, end, device=prefix, max_severity=3)
    assert set(severe["kind"]) == {"syslog"} and (severe["severity"] <= 3).all()
    traps = events.search_events(ro, start, end, "trap", prefix, text="linkdown")
    assert len(traps) > 0
    csv = events.to_csv(ssh)
    assert csv.startswith(b"ts,kind,device")


def test_topology_and_models(ro: psycopg.Connection, seeded: tuple[Settings, str, Fleet, list[str]]) -> None:
    _, prefix, fleet, _ = seeded
    nodes, edges = topology.topology(ro, prefix)
    assert set(nodes["name"]) == set(fleet.devices)
    assert len(edges) == 2 * (len(fleet.devices) - 1)
    assert set(nodes.set_index("name").loc[fleet.devices[:1], "status"]) <= {"up", "down", "unreachable"}
    reg = models.registry(ro)
    mine = reg[reg["family"].str.startswith(prefix)]
    assert len(mine) == 3 and "artefact" not in reg.columns
    spread = models.metric_columns(mine)
    assert "nab_standard" in spread.columns
    assert f"{prefix}cpu" in set(models.in_production(ro)["family"])
