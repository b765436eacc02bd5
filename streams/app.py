"""The Faust application of a NetVigil worker, built from settings (never at import time).

``create_app(settings)`` returns a :class:`NetvigilApp`: a ``faust.App`` that
also carries what the agents of every tier share -- the settings, one Faust
topic object per NetVigil topic, and the list of batch processors called with
each :class:`~netvigil.records.MetricBatch` the rates stage produces.

Topics use ``value_serializer="raw"``: agents receive the message bytes and
decode them with :func:`netvigil.topics.decode` themselves, which is faster
than Faust's codecs and keeps validation and dead-lettering in one place.
Use :func:`decode_or_dead_letter` in agents.

Other modules add agents through :mod:`streams.agents` (see there).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import faust

from netvigil.records import MetricBatch, Record, RecordError
from netvigil.settings import Settings
from netvigil.topics import TOPICS, dead_letter, decode, encode

if TYPE_CHECKING:
    from streams.live import LiveState

__all__ = ["BatchProcessor", "NetvigilApp", "SeriesBatch", "create_app", "decode_or_dead_letter"]

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class SeriesBatch:
    """One device's derived values with the database series id of each metric.

    ``series_ids[i]`` is the id (table ``series``) of ``batch.metrics[i]``.
    """

    batch: MetricBatch
    series_ids: Sequence[int]


# Called once per persisted group of batches, after the rows are committed to
# PostgreSQL and before the Kafka offsets are: detectors and alert rules that
# want every value exactly as stored plug in here (see streams.agents).
BatchProcessor = Callable[[Sequence[SeriesBatch]], Awaitable[None]]


class NetvigilApp(faust.App):
    """A faust.App plus the NetVigil context shared by agents of every tier."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(settings.streams.app_id, **kwargs)
        self.nv_settings = settings
        # logical topic name ("poll", "metrics", ...) -> Faust topic (raw bytes)
        self.nv_topics: dict[str, faust.TopicT] = {}
        self.batch_processors: list[BatchProcessor] = []
        self._live: LiveState | None = None

    def live_state(self) -> LiveState:
        """The worker's one Redis live state (latest values, device status, active alerts).

        Shared by every agent of the worker: the alert engine calls
        ``app.live_state().publish_alert(alert)``.
        """
        if self._live is None:
            from streams.live import LiveState

            self._live = LiveState(self.nv_settings)
        return self._live

    def nv_topic(self, name: str) -> faust.TopicT:
        """The Faust topic of a logical NetVigil topic name (KeyError if unknown)."""
        return self.nv_topics[name]

    async def send_dead_letter(self, origin: str, reason: str, payload: bytes) -> None:
        """Keep bad input, with why, on the dead-letter topic."""
        from streams.monitoring import DEAD_LETTERS

        DEAD_LETTERS.labels(origin).inc()
        log.warning("dead-lettered input from %s: %s", origin, reason)
        await self.nv_topics["deadletter"].send(
            key=origin.encode(), value=encode(dead_letter(origin, reason, payload))
        )


def create_app(settings: Settings, **overrides: Any) -> NetvigilApp:
    """A worker app for ``settings``: broker, app id, loopback web port, all topics.

    ``overrides`` are extra faust.App settings (e.g. ``datadir``).
    """
    app = NetvigilApp(
        settings,
        broker=[f"kafka://{host}" for host in settings.kafka.bootstrap.split(",")],
        web_port=settings.streams.web_port,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication,
        key_serializer="raw",
        value_serializer="raw",
        store="memory://",
        autodiscover=False,
        producer_max_request_size=8 << 20,
        # A worker that dies (kill -9) gives its partitions up after this, not
        # Faust's default 60 s: failover in seconds, heartbeats every 3 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        **overrides,
    )
    for spec in TOPICS.values():
        app.nv_topics[spec.name] = app.topic(
            settings.topic(spec.name),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=spec.partitions or settings.kafka.partitions,
            internal=False,
        )
    return app


async def decode_or_dead_letter(app: NetvigilApp, topic: str, payload: bytes) -> Record | None:
    """Decode one message of ``topic``; bad input goes to the dead-letter topic, returns None."""
    try:
        return decode(topic, payload)
    except RecordError as exc:
        await app.send_dead_letter(topic, exc.reason, payload)
        return None
