"""Alerts, events, models and heartbeats for the synthetic data set (see app_streamlit.seed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

__all__ = ["seed_alerts", "seed_events", "seed_models"]

Conn = psycopg.Connection[Any]


def seed_alerts(conn: Conn, prefix: str, devices: list[str], now: datetime) -> list[str]:
    """Alerts of each kind (threshold, anomaly, predictive, down with symptoms under a root cause)."""
    d = devices
    rows = [
        (
            f"{prefix}:down:{d[0]}",
            "device_down",
            d[0],
            "",
            "",
            "status",
            "critical",
            "open",
            f"{d[0]} is down",
            None,
        ),
        (
            f"{prefix}:down:{d[1 % len(d)]}",
            "device_down",
            d[1 % len(d)],
            "",
            "",
            "status",
            "major",
            "open",
            f"{d[1 % len(d)]} unreachable behind {d[0]}",
            f"{prefix}:down:{d[0]}",
        ),
        (
            f"{prefix}:cpu:{d[0]}",
            "cpu_high",
            d[0],
            "",
            "cpu_user_pct",
            "threshold",
            "warning",
            "open",
            "CPU user above 90 % for 5 minutes",
            f"{prefix}:down:{d[0]}",
        ),
        (
            f"{prefix}:anom:{d[-1]}",
            "anomaly",
            d[-1],
            "1",
            "if_in_bps",
            "anomaly",
            "minor",
            "open",
            "Unusual inbound traffic on eth0",
            None,
        ),
        (
            f"{prefix}:disk:{d[-1]}",
            "disk_full_soon",
            d[-1],
            "/",
            "disk_used_pct",
            "predictive",
            "major",
            "acknowledged",
            "Disk / full in 6 days at current trend",
            None,
        ),
    ]
    for i, (key, rule, dev, inst, metric, kind, sev, state, summary, root) in enumerate(rows):
        conn.execute(
            "INSERT INTO alerts (key, rule, device, instance, metric, kind, severity, state, summary, root_cause,"
            " tags, started, updated, value, threshold, score)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                key,
                rule,
                dev,
                inst,
                metric,
                kind,
                sev,
                state,
                summary,
                root,
                Jsonb({"site": "site-0", "team": prefix}),
                now - timedelta(minutes=30 - i),
                now,
                95.0,
                90.0,
                0.97,
            ),
        )
        conn.execute(
            "INSERT INTO alert_events (key, ts, kind, actor, from_state, to_state, detail) VALUES"
            " (%s, %s, 'transition', 'system', NULL, 'open', %s),"
            " (%s, %s, 'notify', 'system', NULL, NULL, %s),"
            " (%s, %s, 'remediation', 'system', NULL, NULL, %s)",
            (
                key,
                now - timedelta(minutes=30 - i),
                Jsonb({"value": 95.0}),
                key,
                now - timedelta(minutes=29 - i),
                Jsonb({"channel": "email", "to": "noc@example.net"}),
                key,
                now - timedelta(minutes=28 - i),
                Jsonb({"script": "collect_diag.sh", "output": "top: load 3.2"}),
            ),
        )
    return [r[0] for r in rows]


def seed_events(
    conn: Conn, prefix: str, devices: list[str], now: datetime, n: int = 200, spacing_s: float = 60
) -> None:
    """``n`` syslog lines ``spacing_s`` apart going back from ``now``, and a trap for every fourth."""
    conn.execute(
        "INSERT INTO syslog_messages (ts, msg_hash, source, device, transport, format, facility, severity,"
        " hostname, app, message, raw)"
        " SELECT %(now)s - i * %(step)s, decode(md5(%(p)s || i), 'hex'), '127.0.0.1', (%(devs)s::text[])[1 + i %% %(nd)s],"
        "  'udp', 'rfc5424', 1, i %% 8, (%(devs)s::text[])[1 + i %% %(nd)s], CASE WHEN i %% 3 = 0 THEN 'sshd' ELSE 'kernel' END,"
        "  CASE WHEN i %% 3 = 0 THEN 'Failed password for root from 10.0.0.' || i ELSE 'eth0: link flap ' || i END, ''"
        " FROM generate_series(0, %(n)s - 1) i",
        {
            "now": now,
            "p": prefix,
            "devs": devices,
            "nd": len(devices),
            "n": n,
            "step": timedelta(seconds=spacing_s),
        },
    )
    conn.execute(
        "INSERT INTO traps (ts, msg_hash, source, device, version, trap_oid, trap_name, varbinds)"
        " SELECT %(now)s - i * 4 * %(step)s, decode(md5(%(p)s || 't' || i), 'hex'), '127.0.0.1',"
        "  (%(devs)s::text[])[1 + i %% %(nd)s], 'v2c', '1.3.6.1.6.3.1.1.5.3', 'linkDown',"
        "  jsonb_build_array(jsonb_build_object('oid', '1.3.6.1.2.1.2.2.1.1', 'value', i %% 4 + 1))"
        " FROM generate_series(0, %(n)s / 4) i",
        {
            "now": now,
            "p": prefix,
            "devs": devices,
            "nd": len(devices),
            "n": n,
            "step": timedelta(seconds=spacing_s),
        },
    )


def seed_models(conn: Conn, prefix: str, now: datetime) -> None:
    for family, version, stage, nab in [
        (f"{prefix}cpu", 1, "production", 61.2),
        (f"{prefix}cpu", 2, "candidate", 68.9),
        (f"{prefix}interface", 1, "production", 55.0),
    ]:
        conn.execute(
            "INSERT INTO model_registry (family, version, algorithm, params, metrics, stage, created_at)"
            " VALUES (%s, %s, 'half_space_trees', %s, %s, %s, %s)",
            (
                family,
                version,
                Jsonb({"n_trees": 25, "height": 15}),
                Jsonb({"nab_standard": nab, "nab_low_fp": nab - 6, "nab_low_fn": nab + 4, "precision": 0.8}),
                stage,
                now - timedelta(days=3 - version),
            ),
        )
    conn.execute(
        "INSERT INTO component_health (component, last_seen, detail) VALUES (%s, %s, %s), (%s, %s, %s)",
        (
            f"{prefix}collector",
            now,
            Jsonb({"polled": 120, "errors": 0}),
            f"{prefix}worker",
            now,
            Jsonb({"consumer_lag": 12}),
        ),
    )
