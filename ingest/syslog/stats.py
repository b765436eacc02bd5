"""Receiver counters, kept as plain ints and exported to Prometheus at scrape time.

At 50,000 messages a second a prometheus_client ``Counter.labels().inc()``
per message would cost more than the parse; plain integer increments cost
almost nothing and a custom collector turns them into counter families when
Prometheus asks.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["SyslogStats", "register"]


class SyslogStats:
    """Counts of one receiver; ``snapshot()`` for logs, tests and the benchmark."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()  # by transport
        self.parsed: Counter[str] = Counter()  # by format ("raw" included)
        self.errors: Counter[str] = Counter()  # by reason
        self.published = 0
        self.pending = 0
        self.connections = 0

    def snapshot(self) -> dict[str, object]:
        return {
            "received": dict(self.received),
            "parsed": dict(self.parsed),
            "raw": self.parsed.get("raw", 0),
            "published": self.published,
            "errors": dict(self.errors),
            "pending": self.pending,
            "connections": self.connections,
        }


class _StatsCollector(Collector):
    def __init__(self) -> None:
        self.stats: list[SyslogStats] = []

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        received = CounterMetricFamily(
            "netvigil_syslog_received", "Syslog messages received", labels=["transport"]
        )
        parsed = CounterMetricFamily("netvigil_syslog_parsed", "Syslog messages by format", labels=["format"])
        raw = CounterMetricFamily("netvigil_syslog_raw", "Syslog messages kept raw (unparsed)")
        published = CounterMetricFamily("netvigil_syslog_published", "Syslog records acknowledged by Kafka")
        errors = CounterMetricFamily("netvigil_syslog_errors", "Syslog receiver errors", labels=["reason"])
        pending = GaugeMetricFamily("netvigil_syslog_pending", "Syslog records waiting for Kafka")
        total: dict[str, Counter[str]] = {"r": Counter(), "p": Counter(), "e": Counter()}
        pub = pend = 0
        for s in self.stats:
            total["r"].update(s.received)
            total["p"].update(s.parsed)
            total["e"].update(s.errors)
            pub += s.published
            pend += s.pending
        for k, v in total["r"].items():
            received.add_metric([k], v)
        for k, v in total["p"].items():
            parsed.add_metric([k], v)
        for k, v in total["e"].items():
            errors.add_metric([k], v)
        raw.add_metric([], total["p"].get("raw", 0))
        published.add_metric([], pub)
        pending.add_metric([], pend)
        yield from (received, parsed, raw, published, errors, pending)


_lock = threading.Lock()
_collector: _StatsCollector | None = None


def register(stats: SyslogStats) -> None:
    """Add a receiver's counters to the process's registry (the collector is registered once)."""
    global _collector
    with _lock:
        if _collector is None:
            _collector = _StatsCollector()
            REGISTRY.register(_collector)
        _collector.stats.append(stats)


def unregister(stats: SyslogStats) -> None:
    with _lock:
        if _collector is not None and stats in _collector.stats:
            _collector.stats.remove(stats)
