"""Prometheus metrics of the alerting tier, on the worker's registry (streams.monitoring)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from netvigil.records import SEVERITIES
from streams.monitoring import REGISTRY

__all__ = ["ALERTS", "DB_FAILURES", "NOTIFICATIONS", "REMEDIATIONS", "RULE_ERRORS", "set_gauges"]

ALERTS = Gauge(
    "netvigil_alerts", "active alerts by state and severity", ["state", "severity"], registry=REGISTRY
)
RULE_ERRORS = Counter(
    "netvigil_alert_rule_errors",
    "rule or notification config loads refused (previous kept)",
    registry=REGISTRY,
)
DB_FAILURES = Counter("netvigil_alert_db_failures", "failed alert reads/writes (retried)", registry=REGISTRY)
NOTIFICATIONS = Counter(
    "netvigil_notifications",
    "notification deliveries by receiver type and result",
    ["type", "result"],
    registry=REGISTRY,
)
REMEDIATIONS = Counter("netvigil_remediations", "remediation runs by status", ["status"], registry=REGISTRY)
BAD_RECORDS = Counter(
    "netvigil_alerting_bad_records", "undecodable records skipped by alerting", ["topic"], registry=REGISTRY
)

_STATES = ("open", "acknowledged", "suppressed")


def set_gauges(counts: dict[tuple[str, str], int]) -> None:
    """Every (state, severity) pair is set, zeros included, so a cleared alert shows 0."""
    for state in _STATES:
        for sev in SEVERITIES:
            ALERTS.labels(state, sev).set(counts.get((state, sev), 0))
