"""The typed records that travel on Kafka: one class per topic, defined once.

Producers and consumers both use these classes (napalm's "one models module").
Serialisation is JSON through msgspec: readable with any Kafka console tool,
and fast enough that one worker decodes far more than 100,000 samples a second
(samples travel in batches, one record per device poll).

Versioning: every record carries ``v``. A consumer accepts the versions listed
in ``SUPPORTED_VERSIONS`` and rejects others with a clear reason, which the
caller routes to the dead-letter topic (see :mod:`netvigil.topics`).

Times are UNIX epoch seconds (float, UTC): cheap to encode, unambiguous, and
what every downstream calculation (rates, windows) wants.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import msgspec

__all__ = [
    "SEVERITIES",
    "Alert",
    "AlertTransition",
    "AnomalyScore",
    "DeadLetter",
    "DevicePoll",
    "Metric",
    "MetricBatch",
    "PingResult",
    "Prop",
    "Record",
    "RecordError",
    "Sample",
    "SyslogMessage",
    "Trap",
    "VarBind",
]

SUPPORTED_VERSIONS = frozenset({1})

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
Epoch = Annotated[float, msgspec.Meta(ge=0)]

# Alert severities, least to most severe. "clear" is not a severity.
SEVERITIES: tuple[str, ...] = ("info", "warning", "minor", "major", "critical")
Severity = Literal["info", "warning", "minor", "major", "critical"]


class RecordError(ValueError):
    """A record failed validation; ``reason`` is one line fit for a dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Record(msgspec.Struct, kw_only=True, omit_defaults=False):
    """Base of every topic record."""

    v: int = 1

    def validate(self) -> None:
        """Checks msgspec's type system cannot express. Raise RecordError."""
        if self.v not in SUPPORTED_VERSIONS:
            raise RecordError(f"unsupported record version {self.v}")


# --------------------------------------------------------------------------
# Collect tier
# --------------------------------------------------------------------------
SnmpType = Literal["counter32", "counter64", "gauge", "integer", "timeticks"]

# Sample, Prop and Metric hold only strings and numbers, so they can never be part of a
# reference cycle: ``gc=False`` keeps them out of the cyclic garbage collector. A worker
# makes ~300 of them per device poll; tracked, they triggered most of its collections
# (bench_pipeline at 15,000 devices: 8.3 s of GC in a 4-minute run, 59 full collections).


class Sample(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One numeric value from a poll. ``array_like`` keeps 150 of them compact.

    ``metric`` is the MIB object name (``ifHCInOctets``), ``instance`` the index
    that tells series apart (ifIndex, storage index, CPU index; "" for scalars),
    ``kind`` says how to turn it into a rate downstream.
    """

    metric: str
    instance: str
    value: int | float  # ints stay exact: a Counter64 does not fit a float's 53 bits
    kind: SnmpType = "gauge"


class Prop(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A text property from a poll: ifName, ifAlias, hrStorageDescr, sysDescr, LLDP peers."""

    name: str
    instance: str
    text: str


class DevicePoll(Record, kw_only=True):
    """Topic ``poll``: everything one SNMP poll of one device returned, raw.

    Raw counter values, not rates: the stream computes rates because only it
    holds the previous value (and may run on another machine). ``sys_uptime``
    (TimeTicks, 1/100 s) lets the stream tell an agent reboot from a counter
    wrap. An unreachable device is a record too (status "unreachable").
    """

    device: NonEmpty
    address: NonEmpty
    ts: Epoch
    status: Literal["ok", "partial", "unreachable"] = "ok"
    error: str | None = None
    sys_uptime: int | None = None
    duration_ms: float = 0.0
    modules: list[str] = msgspec.field(default_factory=list)
    samples: list[Sample] = msgspec.field(default_factory=list)
    props: list[Prop] = msgspec.field(default_factory=list)

    def validate(self) -> None:
        super().validate()
        for s in self.samples:
            if not math.isfinite(s.value):
                raise RecordError(f"sample {s.metric}.{s.instance} is not finite")
        if self.status == "unreachable" and not self.error:
            raise RecordError("unreachable poll without an error")


class PingResult(Record, kw_only=True):
    """Topic ``ping``: one ICMP probe cycle of one target."""

    device: NonEmpty
    address: NonEmpty
    ts: Epoch
    sent: Annotated[int, msgspec.Meta(ge=0)]
    received: Annotated[int, msgspec.Meta(ge=0)]
    loss_pct: Annotated[float, msgspec.Meta(ge=0, le=100)]
    rtt_min_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    jitter_ms: float | None = None
    error: str | None = None

    def validate(self) -> None:
        super().validate()
        if self.received > self.sent:
            raise RecordError("received more replies than probes sent")


class VarBind(msgspec.Struct, array_like=True, frozen=True):
    oid: str
    name: str
    type: str
    value: str


class Trap(Record, kw_only=True):
    """Topic ``trap``: one SNMP notification (v1 traps converted to v2 form).

    The community or v3 keys are never carried: only who sent it and how.
    """

    ts: Epoch
    source: NonEmpty  # "ip:port"
    device: str | None = None  # inventory name, when the sender is known
    version: Literal["v1", "v2c", "v3"]
    security_name: str | None = None  # v3 user; never the community
    inform: bool = False
    trap_oid: NonEmpty
    trap_name: str = ""
    uptime: int | None = None
    varbinds: list[VarBind] = msgspec.field(default_factory=list)


class SyslogMessage(Record, kw_only=True):
    """Topic ``syslog``: one message. Unparseable lines keep ``format="raw"``."""

    ts: Epoch  # when received
    source: NonEmpty
    device: str | None = None
    transport: Literal["udp", "tcp"] = "udp"
    format: Literal["rfc5424", "rfc3164", "cisco", "juniper", "raw"] = "raw"
    facility: Annotated[int, msgspec.Meta(ge=0, le=23)] | None = None
    severity: Annotated[int, msgspec.Meta(ge=0, le=7)] | None = None
    timestamp: float | None = None  # the message's own time, when it has one
    hostname: str | None = None
    app: str | None = None
    procid: str | None = None
    msgid: str | None = None
    structured_data: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    message: str = ""
    raw: str = ""


# --------------------------------------------------------------------------
# Process tier
# --------------------------------------------------------------------------
class Metric(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One derived value: a rate, a percentage, a gauge. ``unit`` as in the UI."""

    metric: str
    instance: str
    value: float
    unit: str = ""


class MetricBatch(Record, kw_only=True):
    """Topic ``metrics``: derived values of one device at one time.

    ``flags`` names values that were computed but are not trusted (for example
    a rate above the interface's speed): they are stored flagged, not as truth.
    """

    device: NonEmpty
    ts: Epoch
    source: Literal["snmp", "icmp"] = "snmp"
    metrics: list[Metric] = msgspec.field(default_factory=list)
    flags: dict[str, str] = msgspec.field(default_factory=dict)


AlertState = Literal["open", "acknowledged", "resolved", "suppressed"]


class Alert(Record, kw_only=True):
    """Topic ``alert``: the current state of one alert, keyed by its dedup key."""

    key: NonEmpty  # dedup key: rule/device/instance
    rule: NonEmpty
    device: str
    instance: str = ""
    metric: str = ""
    kind: Literal["threshold", "anomaly", "predictive", "event", "device"] = "threshold"
    severity: Severity
    state: AlertState
    summary: str
    value: float | None = None
    threshold: float | None = None
    expected_low: float | None = None
    expected_high: float | None = None
    score: float | None = None
    flapping: bool = False
    root_cause: str | None = None  # key of the alert that suppresses this one
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    started: Epoch
    updated: Epoch


class AlertTransition(Record, kw_only=True):
    """Topic ``alert-transition``: one change of state, kept forever on the alert's timeline."""

    key: NonEmpty
    ts: Epoch
    from_state: AlertState | None
    to_state: AlertState
    severity: Severity
    reason: str = ""
    actor: str = "system"


class AnomalyScore(Record, kw_only=True):
    """Topic ``anomaly``: a detector's verdict on one series value."""

    device: NonEmpty
    metric: NonEmpty
    instance: str = ""
    ts: Epoch
    value: float
    score: Annotated[float, msgspec.Meta(ge=0, le=1)]
    likelihood: Annotated[float, msgspec.Meta(ge=0, le=1)]
    is_anomaly: bool = False
    expected_low: float | None = None
    expected_high: float | None = None
    model: str = "default"
    model_version: int = 0


class DeadLetter(Record, kw_only=True):
    """Topic ``deadletter``: input that could not be used, kept whole with the reason."""

    ts: Epoch
    origin: NonEmpty  # topic or receiver it came from
    reason: NonEmpty
    source: str | None = None  # sender address, when known
    payload_b64: str = ""  # the raw bytes, base64
