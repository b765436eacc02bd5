"""Topic names, their record classes, partition keys and the codec, in one place.

Every topic carries exactly one record class. Records are keyed by device so
that one device's polls always land on one partition, in order: that is what
lets a worker keep the previous counter value of a device in memory and lets
several workers share the load by partitions.

``decode`` validates; what fails becomes a :class:`DeadLetter` (see
:func:`dead_letter`), never an exception that stops a consumer and never a
silent drop.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from netvigil.records import (
    Alert,
    AlertTransition,
    AnomalyScore,
    DeadLetter,
    DevicePoll,
    MetricBatch,
    PingResult,
    Record,
    RecordError,
    SyslogMessage,
    Trap,
)

if TYPE_CHECKING:
    from netvigil.settings import Settings

__all__ = [
    "TOPICS",
    "TopicSpec",
    "dead_letter",
    "decode",
    "encode",
    "key_for",
    "topic_specs",
]

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class TopicSpec:
    name: str  # logical name; the full name adds settings.kafka.topic_prefix
    record: type[Record]
    key_field: str | None  # attribute used as the partition key
    compacted: bool = False
    partitions: int | None = None  # None: settings.kafka.partitions


TOPICS: dict[str, TopicSpec] = {
    spec.name: spec
    for spec in (
        TopicSpec("poll", DevicePoll, "device"),
        TopicSpec("ping", PingResult, "device"),
        TopicSpec("trap", Trap, "source"),
        TopicSpec("syslog", SyslogMessage, "source"),
        TopicSpec("metrics", MetricBatch, "device"),
        TopicSpec("alert", Alert, "key"),
        TopicSpec("alert-transition", AlertTransition, "key"),
        TopicSpec("anomaly", AnomalyScore, "device"),
        TopicSpec("deadletter", DeadLetter, "origin", partitions=1),
    )
}

_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[type[Record], msgspec.json.Decoder[Any]] = {
    spec.record: msgspec.json.Decoder(spec.record) for spec in TOPICS.values()
}


def topic_specs(settings: Settings) -> dict[str, int]:
    """Full topic name -> partition count, for creating topics."""
    return {
        settings.topic(spec.name): spec.partitions or settings.kafka.partitions for spec in TOPICS.values()
    }


def encode(record: Record) -> bytes:
    return _ENCODER.encode(record)


def key_for(record: Record, topic: str) -> bytes | None:
    field = TOPICS[topic].key_field
    if field is None:
        return None
    value = getattr(record, field, None)
    return str(value).encode() if value is not None else None


def decode(topic: str, payload: bytes, record_type: type[R] | None = None) -> R:
    """Decode and validate one message of ``topic``; raise RecordError with the reason."""
    cls = record_type or TOPICS[topic].record
    try:
        record = _DECODERS[cls].decode(payload)
    except msgspec.ValidationError as exc:
        raise RecordError(f"{topic}: invalid {cls.__name__}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise RecordError(f"{topic}: not JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise RecordError(f"{topic}: not UTF-8 at byte {exc.start}") from None
    record.validate()
    return record  # type: ignore[no-any-return]


def dead_letter(origin: str, reason: str, payload: bytes, source: str | None = None) -> DeadLetter:
    """Wrap bad input so it is kept, with why, on the dead-letter topic."""
    return DeadLetter(
        ts=time.time(),
        origin=origin,
        reason=reason[:2000],
        source=source,
        payload_b64=base64.b64encode(payload).decode(),
    )
