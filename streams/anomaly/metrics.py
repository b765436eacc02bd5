"""Prometheus metrics of the anomaly stage, on the worker's registry (streams.monitoring)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from streams.monitoring import REGISTRY

__all__ = ["DB_FAILURES", "DROPPED", "FLAGS", "FORECASTS", "MODEL_VERSION", "SCORED", "SERIES", "STORED"]

SCORED = Counter(
    "netvigil_anomaly_points_scored", "points scored by the detector banks", ["family"], registry=REGISTRY
)
FLAGS = Counter("netvigil_anomaly_flags", "incident onsets flagged", ["family"], registry=REGISTRY)
STORED = Counter("netvigil_anomaly_scores_stored", "anomaly_scores rows written", registry=REGISTRY)
FORECASTS = Counter("netvigil_forecasts", "forecasts made (rows written)", registry=REGISTRY)
DB_FAILURES = Counter(
    "netvigil_anomaly_db_failures", "failed score/forecast writes (retried)", registry=REGISTRY
)
DROPPED = Counter(
    "netvigil_anomaly_scores_dropped", "score rows dropped after a long database outage", registry=REGISTRY
)
SERIES = Gauge("netvigil_anomaly_series", "series held by the detector banks", ["family"], registry=REGISTRY)
MODEL_VERSION = Gauge(
    "netvigil_anomaly_model_version", "registry version in use", ["family"], registry=REGISTRY
)
