"""Query time of every app page against 15,000 devices and 30 days of rollups.

    .venv/bin/python bench/bench_app_queries.py [--test-stack] [--devices 15000] [--days 30] [--runs 5] [--reseed]

Seeds a database of its own, ``netvigil_bench`` on the configured PostgreSQL
(``--test-stack``: the test suite's PostgreSQL on port 25432, started if
needed), then times the data queries each page runs, read through the
read-only role exactly as the app does (median of ``--runs`` runs, after one
warm-up run). The seed is kept and reused by later runs with the same shape
unless ``--reseed``.

Data shape (app_streamlit.seed, generated inside PostgreSQL):

- ``--devices`` devices, each with CPU user/system, memory, disk "/" and one
  interface in/out: 1 h rollups for ``--days`` days, 1 m rollups for the last
  30 minutes (what the overview's "now" reads);
- ``--detail`` of them (default 100) with the full per-device metric set (29
  series): 1 h rollups for ``--days`` days, 1 m rollups for 48 h, raw samples
  for 2 h, anomaly scores and a forecast: these are the device pages timed;
- an LLDP tree over all devices, 3,000 alerts with timelines, 30 days of
  syslog (one line every 5 s) and traps, a model registry.

Goal: every page's data in under 1 s. Limit (same run): a ``SELECT 1`` round
trip and a plain ``count(*)`` of the devices.
Prints JSON and writes bench/results/app_queries.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEST_STACK_ENV = {
    "NETVIGIL_STACK__HOME": ".local/test",
    "NETVIGIL_STACK__POSTGRES_PORT": "25432",
    "NETVIGIL_STACK__REDIS_PORT": "26379",
    "NETVIGIL_POSTGRES__DSN": "postgresql://netvigil:netvigil@127.0.0.1:25432/netvigil_test",
    "NETVIGIL_POSTGRES__READONLY_DSN": "postgresql://netvigil_ro:netvigil_ro@127.0.0.1:25432/netvigil_test",
}
RESULTS = ROOT / "bench" / "results" / "app_queries.json"
BENCH_DB = "netvigil_bench"
MAIN_METRICS = {
    "cpu_user_pct": ("",),
    "cpu_system_pct": ("",),
    "mem_used_pct": ("",),
    "disk_used_pct": ("/",),
    "if_in_bps": ("{if}",),
    "if_out_bps": ("{if}",),
}


def with_db(dsn: str, db: str) -> str:
    p = urlsplit(dsn)
    return urlunsplit((p.scheme, p.netloc, "/" + db, p.query, p.fragment))


def prepare(test_stack: bool) -> Any:
    """Settings pointing at the bench database; the local PostgreSQL service creates it (idempotent)."""
    if test_stack:
        os.environ.update(TEST_STACK_ENV)
        os.environ.pop("NETVIGIL_CONFIG", None)
    from netvigil.db import migrate
    from netvigil.settings import load_settings
    from netvigil.stack import services

    base = load_settings()
    os.environ["NETVIGIL_POSTGRES__DSN"] = with_db(base.postgres.dsn, BENCH_DB)
    os.environ["NETVIGIL_POSTGRES__READONLY_DSN"] = with_db(base.postgres.readonly_dsn, BENCH_DB)
    settings = load_settings()
    for svc in services(settings, ("postgres",)):
        svc.start()  # starts it if needed and provisions the role and database of postgres.dsn
    migrate(settings)
    return settings


BULK = ("rollup_1h", "rollup_1m", "metric_samples", "syslog_messages")


def bulk_mode(conn: psycopg.Connection, on: bool) -> None:
    """Load fast: partitions unlogged and primary keys built once after the load (bench data only)."""
    for table in BULK:
        parts = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
                (table,),
            ).fetchall()
        ]
        if on:
            for part in parts:  # static data once seeded: no WAL, no autovacuum competing with others
                conn.execute(f"ALTER TABLE {part} SET UNLOGGED")
                conn.execute(f"ALTER TABLE {part} SET (autovacuum_enabled = false)")
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_pkey")
        else:
            key = "(series_id, ts)" if table != "syslog_messages" else "(ts, msg_hash)"
            conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY {key}")


def step(what: str, t0: float) -> float:
    now = time.perf_counter()
    print(f"seed: {what} {now - t0:.1f}s", file=sys.stderr, flush=True)
    return now


def seed(settings: Any, devices: int, days: int, detail: int, now: datetime) -> dict[str, Any]:
    from app_streamlit.seed import seed_alerts, seed_anomalies, seed_events, seed_fleet, seed_models

    t0 = time.perf_counter()
    with psycopg.connect(settings.postgres.dsn) as conn:
        for table in (
            "rollup_1h",
            "rollup_1m",
            "metric_samples",
            "anomaly_scores",
            "forecasts",
            "traps",
            "syslog_messages",
            "alert_events",
            "alerts",
            "series",
            "lldp_neighbors",
            "interfaces",
            "devices",
            "model_registry",
            "component_health",
            "app_audit",
            "silences",
        ):
            conn.execute(f"TRUNCATE {table} CASCADE")
        conn.execute("SELECT nv_ensure_partitions(%s, 2)", (days + 1,))
        conn.execute("SET maintenance_work_mem = '256MB'")
        bulk_mode(conn, True)
        conn.commit()
        t = step("prepared", t0)
        rows: dict[str, int] = {}
        # Detail devices first (names benchd_00000..), then the fleet (bench_00000..).
        d = seed_fleet(conn, "benchd_", detail, now, hours_1h=24 * days, hours_1m=48, minutes_raw=120)
        conn.commit()
        t = step("detail devices", t)
        f = seed_fleet(
            conn,
            "bench_",
            devices - detail,
            now,
            interfaces=1,
            metrics=MAIN_METRICS,
            hours_1h=24 * days,
            hours_1m=0,
            minutes_raw=0,
            detail_devices=0,
        )
        conn.commit()
        t = step("fleet", t)
        for k, v in list(d.rows.items()) + list(f.rows.items()):
            rows[k] = rows.get(k, 0) + v
        seed_anomalies(conn, "benchd_", now)
        seed_events(conn, "bench_", f.devices[:2000], now, n=days * 24 * 720, spacing_s=5)
        t = step("events", t)
        seed_models(conn, "bench_", now)
        seed_alerts(conn, "benchd_", d.devices, now)
        conn.execute(
            "INSERT INTO alerts (key, rule, device, kind, severity, state, summary, tags, started, updated, root_cause)"
            " SELECT 'bulk:' || i, 'rule_' || (i %% 20), 'bench_' || lpad((i * 5)::text, 5, '0'), 'threshold',"
            "  (ARRAY['critical','major','minor','warning','info'])[1 + i %% 5],"
            "  (ARRAY['open','acknowledged','resolved','suppressed'])[1 + i %% 4], 'bulk alert ' || i,"
            "  jsonb_build_object('site', 'site-' || (i %% 30)), %(now)s - i * interval '1 minute', %(now)s,"
            "  CASE WHEN i %% 10 > 0 THEN 'bulk:' || (i - i %% 10) END"
            " FROM generate_series(0, 2999) i",
            {"now": now},
        )
        conn.execute(
            "INSERT INTO alert_events (key, ts, kind, detail) SELECT 'bulk:' || i, %(now)s - i * interval '1 minute'"
            " + k * interval '1 second', (ARRAY['transition','notify','remediation'])[k], '{}'::jsonb"
            " FROM generate_series(0, 2999) i, generate_series(1, 3) k",
            {"now": now},
        )
        bulk_mode(conn, False)
        conn.commit()
        t = step("primary keys", t)
        conn.autocommit = True
        conn.execute("ANALYZE")
        step("analyze", t)
        rows["syslog_messages"] = days * 24 * 720
    return {"seconds": round(time.perf_counter() - t0, 1), "rows": rows}


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    fn()  # warm-up: plans, caches
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": round(statistics.median(times), 6), "max_s": round(max(times), 6)}


def pages(ro: psycopg.Connection, now: datetime, detail_device: str) -> dict[str, Callable[[], Any]]:
    from app_streamlit.data import alerts, devices, events, models, overview, topology
    from app_streamlit.device_view import DISK, IFACE, SYSTEM

    metrics = SYSTEM + DISK + IFACE

    def device_page(span: timedelta) -> Callable[[], Any]:
        def run() -> None:
            start = now - span
            devices.device_info(ro, detail_device)
            devices.series_data(ro, detail_device, metrics, start, now)
            devices.series_data(
                ro, detail_device, metrics, start - timedelta(days=1), now - timedelta(days=1)
            )
            devices.anomalies(ro, detail_device, metrics, start, now)
            devices.forecasts(ro, detail_device, metrics, now - timedelta(days=1))
            devices.interfaces(ro, detail_device)

        return run

    def overview_page() -> None:
        overview.devices_by_status(ro)
        overview.active_alerts_by_severity(ro)
        overview.hot_spots(ro, now)
        overview.anomaly_rate(ro, now)
        overview.pipeline_health(ro, now)
        overview.last_data(ro, now)

    def alerts_page() -> None:
        frame = alerts.alert_list(ro)
        alerts.group_by_root_cause(frame)
        alerts.alert_timeline(ro, str(frame.iloc[0]["key"]))
        alerts.active_silences(ro, now)

    def topology_page() -> None:
        nodes, edges = topology.topology(ro, "", 400)
        topology.layout(list(nodes["name"]), list(zip(edges["source"], edges["target"], strict=True)))

    return {
        "overview": overview_page,
        "devices_inventory": lambda: devices.inventory(ro, ""),
        "devices_search": lambda: devices.inventory(ro, "bench_0123"),
        "device_1h_raw": device_page(timedelta(hours=1)),
        "device_24h_1m": device_page(timedelta(days=1)),
        "device_7d_1h": device_page(timedelta(days=7)),
        "device_30d_1h": device_page(timedelta(days=30)),
        "alerts": alerts_page,
        "alerts_filtered": lambda: alerts.alert_list(ro, ["critical"], ["open"], "bench_", "site=site-3"),
        "events_24h": lambda: events.search_events(ro, now - timedelta(days=1), now),
        "events_30d_text": lambda: events.search_events(
            ro, now - timedelta(days=30), now, text="failed password"
        ),
        "events_30d_rare_text": lambda: events.search_events(
            ro, now - timedelta(days=30), now, text="no such words"
        ),
        "events_7d_device": lambda: events.search_events(
            ro, now - timedelta(days=7), now, device="bench_00042"
        ),
        "topology": topology_page,
        "models": lambda: (models.registry(ro), models.in_production(ro)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test-stack", action="store_true", help="use the test suite's PostgreSQL (port 25432)")
    ap.add_argument("--devices", type=int, default=15000)
    ap.add_argument("--detail", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument("--drop", action="store_true", help="drop the bench database afterwards (frees ~8 GB)")
    args = ap.parse_args()
    settings = prepare(args.test_stack)
    shape = {"devices": args.devices, "detail": args.detail, "days": args.days}
    with psycopg.connect(settings.postgres.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (shape jsonb, seeded_at timestamptz, seed jsonb)")
        meta = conn.execute("SELECT shape, seeded_at, seed FROM bench_meta").fetchone()
    if args.reseed or meta is None or meta[0] != shape:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        seeding = seed(settings, args.devices, args.days, args.detail, now)
        with psycopg.connect(settings.postgres.dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM bench_meta")
            conn.execute(
                "INSERT INTO bench_meta VALUES (%s, %s, %s)", (json.dumps(shape), now, json.dumps(seeding))
            )
    else:
        now, seeding = meta[1], meta[2] | {"reused": True}
    from netvigil.db import connect

    load_before = os.getloadavg()[0]
    with connect(settings, readonly=True, autocommit=True) as ro:
        select1 = timed(lambda: ro.execute("SELECT 1").fetchone(), args.runs * 4)
        count = timed(lambda: ro.execute("SELECT count(*) FROM devices").fetchone(), args.runs)
        per_page = {name: timed(fn, args.runs) for name, fn in pages(ro, now, "benchd_00000").items()}
        sizes = {
            table: int(
                ro.execute(
                    "SELECT coalesce(sum(n_live_tup), 0)::bigint FROM pg_stat_user_tables"
                    " WHERE relname = %s OR relname ~ ('^' || %s || '_(default|[0-9]{8})$')",
                    (table, table),
                ).fetchone()[0]
            )
            for table in (
                "devices",
                "series",
                "alerts",
                "alert_events",
                "lldp_neighbors",
                "rollup_1h",
                "rollup_1m",
                "metric_samples",
                "syslog_messages",
                "traps",
                "anomaly_scores",
            )
        }
    slowest = max(per_page, key=lambda k: per_page[k]["median_s"])
    value = per_page[slowest]["median_s"]
    result = {
        "name": "app_page_query_seconds",
        "value": value,
        "unit": f"s (median, slowest page: {slowest})",
        "goal": 1.0,
        "limit": select1["median_s"],
        "limit_what": "SELECT 1 round trip through the read-only role, same run",
        "ratio": round(value / select1["median_s"], 1) if select1["median_s"] else None,
        "ratio_what": "slowest page / SELECT 1 round trip",
        "all_pages_under_goal": all(p["median_s"] < 1.0 for p in per_page.values()),
        "count_devices": count,
        "pages": per_page,
        "shape": shape,
        "table_rows": sizes,
        "seeding": seeding,
        "runs": args.runs,
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_before": round(load_before, 2),
            "load_avg_1m_after": round(os.getloadavg()[0], 2),
            "note": "cores shared with other test runs: timings scale with this load",
        },
    }
    text = json.dumps(result, indent=1, default=str)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    if args.drop:
        with psycopg.connect(with_db(settings.postgres.dsn, "postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
