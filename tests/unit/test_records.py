"""Records and the codec: round trips, validation reasons, dead letters."""

from __future__ import annotations

import base64

import pytest

from netvigil.records import (
    Alert,
    DevicePoll,
    PingResult,
    RecordError,
    Sample,
    SyslogMessage,
    Trap,
    VarBind,
)
from netvigil.topics import TOPICS, dead_letter, decode, encode, key_for


def poll(**kw: object) -> DevicePoll:
    base: dict[str, object] = {
        "device": "r1",
        "address": "127.0.0.2",
        "ts": 1_700_000_000.0,
        "sys_uptime": 100,
    }
    base.update(kw)
    return DevicePoll(**base)  # type: ignore[arg-type]


def test_every_topic_has_one_record_class() -> None:
    classes = [spec.record for spec in TOPICS.values()]
    assert len(classes) == len(set(classes))


def test_poll_round_trip_keeps_counter64_exact() -> None:
    big = 2**64 - 5
    p = poll(samples=[Sample("ifHCInOctets", "1", big, "counter64"), Sample("hrProcessorLoad", "196608", 7)])
    back = decode("poll", encode(p))
    assert back == p
    assert back.samples[0].value == big and isinstance(back.samples[0].value, int)
    assert key_for(p, "poll") == b"r1"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"device":"","address":"a","ts":1}', "device"),
        (b'{"device":"d","address":"a","ts":-1}', "ts"),
        (b'{"device":"d","address":"a","ts":1,"v":9}', "unsupported record version 9"),
        (b'{"device":"d","address":"a","ts":1,"status":"weird"}', "status"),
        (b'{"device":"d","address":"a","ts":1,"status":"unreachable"}', "unreachable poll without an error"),
    ],
)
def test_invalid_poll_is_rejected_with_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(RecordError) as info:
        decode("poll", payload)
    assert reason in info.value.reason


def test_ping_cannot_receive_more_than_sent() -> None:
    bad = PingResult(device="d", address="a", ts=1, sent=3, received=4, loss_pct=0)
    with pytest.raises(RecordError, match="more replies"):
        decode("ping", encode(bad))


def test_trap_syslog_alert_round_trip() -> None:
    t = Trap(
        ts=1,
        source="127.0.0.1:5000",
        version="v2c",
        trap_oid="1.3.6.1.6.3.1.1.5.3",
        trap_name="linkDown",
        varbinds=[VarBind("1.3.6.1.2.1.2.2.1.1.3", "ifIndex.3", "Integer", "3")],
    )
    assert decode("trap", encode(t)) == t
    s = SyslogMessage(
        ts=1,
        source="127.0.0.1",
        format="rfc5424",
        facility=4,
        severity=2,
        structured_data={"x@1": {"a": "b"}},
        message="m",
        raw="<34>1 ...",
    )
    assert decode("syslog", encode(s)) == s
    a = Alert(
        key="cpu/r1/",
        rule="cpu",
        device="r1",
        severity="major",
        state="open",
        summary="CPU 95%",
        started=1,
        updated=1,
    )
    assert decode("alert", encode(a)) == a


def test_syslog_severity_range_checked() -> None:
    with pytest.raises(RecordError, match="severity"):
        decode("syslog", b'{"ts":1,"source":"x","severity":9}')


def test_dead_letter_keeps_raw_bytes() -> None:
    raw = b"\x30\x82garbage"
    dl = dead_letter("trap", "bad BER", raw, source="127.0.0.1:1")
    back = decode("deadletter", encode(dl))
    assert base64.b64decode(back.payload_b64) == raw
    assert back.reason == "bad BER" and back.origin == "trap"
