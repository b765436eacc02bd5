"""Counters of the trap receiver: Prometheus for operators, a plain Counter for tests.

Every datagram ends in exactly one outcome: published, refused (credentials),
malformed (dead-lettered), dropped (could not be published), or a v3 protocol
exchange (engine discovery, time sync). ``received`` counts them all, so the
sum of outcomes can be checked against it.
"""

from __future__ import annotations

from collections import Counter as PlainCounter

from prometheus_client import Counter

__all__ = ["TrapStats"]

_RECEIVED = Counter("netvigil_traps_received", "Datagrams received on the trap port", ["version"])
_REFUSED = Counter(
    "netvigil_traps_refused", "Notifications refused (community, user, v3_only)", ["version", "reason"]
)
_MALFORMED = Counter("netvigil_traps_malformed", "Datagrams that did not decode (dead-lettered)")
_PUBLISHED = Counter("netvigil_traps_published", "Trap records published", ["version"])
_DROPPED = Counter("netvigil_traps_dropped", "Notifications accepted but not published", ["reason"])
_ACKED = Counter("netvigil_traps_informs_acknowledged", "Informs acknowledged after publishing")
_V3_PROTOCOL = Counter("netvigil_traps_v3_protocol", "v3 engine discovery/time-sync exchanges", ["kind"])


class TrapStats:
    """Increment both the Prometheus counters and ``counts`` (keys like ``refused.v2c.community``)."""

    def __init__(self) -> None:
        self.counts: PlainCounter[str] = PlainCounter()
        self._received = {v: _RECEIVED.labels(version=v) for v in ("v1", "v2c", "v3", "unknown")}
        self._published = {v: _PUBLISHED.labels(version=v) for v in ("v1", "v2c", "v3")}

    def received(self, version: str) -> None:
        self.counts[f"received.{version}"] += 1
        self.counts["received"] += 1
        self._received[version].inc()

    def refused(self, version: str, reason: str) -> None:
        self.counts[f"refused.{version}.{reason}"] += 1
        self.counts["refused"] += 1
        _REFUSED.labels(version=version, reason=reason).inc()

    def malformed(self) -> None:
        self.counts["malformed"] += 1
        _MALFORMED.inc()

    def published(self, version: str) -> None:
        self.counts[f"published.{version}"] += 1
        self.counts["published"] += 1
        self._published[version].inc()

    def dropped(self, reason: str) -> None:
        self.counts[f"dropped.{reason}"] += 1
        self.counts["dropped"] += 1
        _DROPPED.labels(reason=reason).inc()

    def acked(self) -> None:
        self.counts["informs_acked"] += 1
        _ACKED.inc()

    def v3_protocol(self, kind: str) -> None:
        self.counts[f"v3_protocol.{kind}"] += 1
        _V3_PROTOCOL.labels(kind=kind).inc()
