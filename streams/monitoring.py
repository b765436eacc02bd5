"""Self-monitoring of a worker: Prometheus metrics and their HTTP endpoint.

One module-level registry (``REGISTRY``) per process, so that a worker's
``/metrics`` shows exactly its own counters (not the default registry's
process collectors from other libraries). Other tiers add their metrics to
``REGISTRY`` too, e.g. the alert engine's alerts-by-state gauge::

    from streams.monitoring import REGISTRY
    ALERTS = Gauge("netvigil_alerts", "alerts by state", ["state"], registry=REGISTRY)

``serve(port)`` starts the endpoint on loopback (settings.streams.metrics_port).
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = [
    "BATCH_SECONDS",
    "CONSUMER_LAG",
    "DB_ERRORS",
    "DEAD_LETTERS",
    "RATE_EVENTS",
    "RECORDS_IN",
    "RECORDS_OUT",
    "REDIS_ERRORS",
    "REGISTRY",
    "ROWS_WRITTEN",
    "WRITE_SECONDS",
    "serve",
]

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

RECORDS_IN = Counter("netvigil_worker_records_in", "records consumed", ["topic"], registry=REGISTRY)
RECORDS_OUT = Counter("netvigil_worker_records_out", "records produced", ["topic"], registry=REGISTRY)
DEAD_LETTERS = Counter(
    "netvigil_worker_dead_letters", "records sent to the dead-letter topic", ["origin"], registry=REGISTRY
)
ROWS_WRITTEN = Counter("netvigil_worker_rows_written", "rows written", ["table"], registry=REGISTRY)
WRITE_SECONDS = Histogram(
    "netvigil_worker_write_seconds",
    "time to write one batch to PostgreSQL (one transaction)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "netvigil_worker_batch_seconds",
    "time from fetching a batch to committing its offsets",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "netvigil_worker_consumer_lag", "messages behind the log end", ["topic", "partition"], registry=REGISTRY
)
DB_ERRORS = Counter("netvigil_worker_db_errors", "failed PostgreSQL writes (retried)", registry=REGISTRY)
REDIS_ERRORS = Counter("netvigil_worker_redis_errors", "failed Redis operations", registry=REGISTRY)
RATE_EVENTS = Counter(
    "netvigil_worker_rate_events",
    "counter anomalies met while computing rates (wrap, reboot, discontinuity, gap, above_speed)",
    ["event"],
    registry=REGISTRY,
)


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """Start the /metrics endpoint (a daemon thread); a taken port is logged, not fatal."""
    try:
        start_http_server(port, addr=addr, registry=REGISTRY)
        log.info("metrics on http://%s:%d/metrics", addr, port)
    except OSError as exc:
        log.error("cannot serve metrics on %s:%d: %s", addr, port, exc)
