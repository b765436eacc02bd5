"""Hostile input to record validation: every input is either a valid record or a RecordError.

A seeded mutational fuzzer (100,000 inputs per topic, derived from valid
records by flipping, truncating, splicing and retyping) plus hypothesis for
structure-aware JSON. Nothing else may escape `decode`: an unexpected
exception would stop a consumer.
"""

from __future__ import annotations

import contextlib
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netvigil.records import (
    Alert,
    DevicePoll,
    PingResult,
    Prop,
    RecordError,
    Sample,
    SyslogMessage,
    Trap,
    VarBind,
)
from netvigil.topics import TOPICS, decode, encode

SEEDS = {
    "poll": DevicePoll(
        device="sw1",
        address="127.0.0.5",
        ts=1.7e9,
        sys_uptime=12345,
        samples=[Sample("ifHCInOctets", "1", 2**63, "counter64"), Sample("hrProcessorLoad", "1", 5)],
        props=[Prop("ifName", "1", "Gi0/1")],
    ),
    "ping": PingResult(
        device="h1",
        address="127.0.0.9",
        ts=1.7e9,
        sent=3,
        received=2,
        loss_pct=33.3,
        rtt_min_ms=0.1,
        rtt_avg_ms=0.2,
        rtt_max_ms=0.3,
        jitter_ms=0.05,
    ),
    "trap": Trap(
        ts=1.7e9,
        source="127.0.0.5:40000",
        version="v2c",
        trap_oid="1.3.6.1.6.3.1.1.5.3",
        varbinds=[VarBind("1.3.6.1.2.1.2.2.1.1.2", "ifIndex.2", "Integer", "2")],
    ),
    "syslog": SyslogMessage(
        ts=1.7e9,
        source="127.0.0.5",
        format="rfc5424",
        facility=1,
        severity=3,
        structured_data={"a@1": {"k": "v"}},
        message="hello",
        raw="<11>1 - - - - - - hello",
    ),
    "alert": Alert(
        key="k",
        rule="r",
        device="d",
        severity="minor",
        state="open",
        summary="s",
        started=1.7e9,
        updated=1.7e9,
    ),
}

N_INPUTS = 100_000


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(6)
    if op == 0 and b:  # flip bytes
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif op == 1:  # truncate
        b = b[: rng.randrange(len(b) + 1)]
    elif op == 2:  # splice a token
        token = rng.choice([b"null", b"-1", b"1e309", b'""', b"[]", b"{}", b"true", b'"\\ud800"', b"NaN"])
        at = rng.randrange(len(b) + 1)
        b[at:at] = token
    elif op == 3:  # duplicate a slice
        i = rng.randrange(len(b) + 1)
        j = rng.randrange(i, len(b) + 1)
        b[j:j] = b[i:j]
    elif op == 4:  # random bytes
        b = bytearray(rng.randbytes(rng.randrange(64)))
    else:  # retype a field in the JSON
        obj = json.loads(data)
        key = rng.choice(list(obj))
        obj[key] = rng.choice([None, -1, "x" * rng.randrange(600), [], {}, 1e308, True, ""])
        b = bytearray(json.dumps(obj).encode())
    return bytes(b)


@pytest.mark.parametrize("topic", sorted(SEEDS))
def test_mutational_fuzz_never_escapes(topic: str) -> None:
    rng = random.Random(f"netvigil-{topic}")
    seed = encode(SEEDS[topic])
    valid = refused = 0
    for _ in range(N_INPUTS):
        payload = _mutate(rng, seed)
        try:
            record = decode(topic, payload)
        except RecordError as exc:
            assert exc.reason and "\n" not in exc.reason.strip()
            refused += 1
            continue
        assert isinstance(record, TOPICS[topic].record)
        valid += 1
    assert valid + refused == N_INPUTS
    assert refused > N_INPUTS // 2  # most mutations must be caught, and counted


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    topic=st.sampled_from(sorted(TOPICS)), obj=st.dictionaries(st.text(max_size=12), json_values, max_size=8)
)
def test_structured_json_never_escapes(topic: str, obj: dict[str, object]) -> None:
    payload = json.dumps(obj, allow_nan=True).encode()
    with contextlib.suppress(RecordError):
        decode(topic, payload)
