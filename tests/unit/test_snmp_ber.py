"""The BER codec: round trips, cross-checks against pyasn1/pysnmp, and malformed input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder as asn1_decoder
from pyasn1.codec.ber import encoder as asn1_encoder
from pysnmp.proto import api

from ingest.snmp.ber import (
    BerError,
    Message,
    Pdu,
    decode_message,
    encode_get,
    encode_getbulk,
    encode_message,
    encode_oid,
    encode_response,
    peek_version,
)

VARBINDS = [
    ("1.3.6.1.2.1.1.3.0", "TimeTicks", 123456),
    ("1.3.6.1.2.1.1.5.0", "OCTET STRING", b"host-1"),
    ("1.3.6.1.2.1.1.2.0", "OID", "1.3.6.1.4.1.8072.3.2.10"),
    ("1.3.6.1.2.1.31.1.1.1.6.1", "Counter64", 2**64 - 1),
    ("1.3.6.1.2.1.2.2.1.10.1", "Counter32", 2**32 - 1),
    ("1.3.6.1.2.1.2.2.1.5.1", "Gauge32", 1000000000),
    ("1.3.6.1.2.1.2.2.1.1.1", "INTEGER", -129),
    ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", "IpAddress", "10.0.0.1"),
    ("1.3.6.1.4.1.2021.10.1.6.1", "Opaque", b"\x9f\x78\x04\x3f\x80\x00\x00"),
    ("1.3.6.1.2.1.1.9.0", "NULL", None),
    ("1.3.6.1.2.1.1.10.0", "noSuchObject", None),
    ("1.3.6.1.2.1.1.11.0", "noSuchInstance", None),
    ("1.3.6.1.9", "endOfMibView", None),
]


def test_response_round_trip() -> None:
    msg = decode_message(encode_response(1, "public", 42, VARBINDS))
    assert (msg.version, msg.community, msg.pdu.type, msg.pdu.request_id) == (1, b"public", "Response", 42)
    assert msg.pdu.varbinds == VARBINDS


def test_getbulk_fields() -> None:
    msg = decode_message(encode_getbulk(b"c", 2**31 - 1, ["1.3.6.1.2.1.2"], 1, 50))
    assert msg.pdu.type == "GetBulkRequest"
    assert (msg.pdu.non_repeaters, msg.pdu.max_repetitions, msg.pdu.request_id) == (1, 50, 2**31 - 1)
    assert msg.pdu.varbinds == [("1.3.6.1.2.1.2", "NULL", None)]


def test_get_matches_pysnmp_encoding() -> None:
    """Our GetRequest bytes equal pysnmp's for the same content."""
    p = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = p.GetRequestPDU()
    p.apiPDU.set_defaults(pdu)
    p.apiPDU.set_request_id(pdu, 7)
    p.apiPDU.set_varbinds(pdu, [("1.3.6.1.2.1.1.3.0", p.Null(""))])
    msg = p.Message()
    p.apiMessage.set_defaults(msg)
    p.apiMessage.set_community(msg, "public")
    p.apiMessage.set_pdu(msg, pdu)
    assert asn1_encoder.encode(msg) == encode_get(1, "public", 7, ["1.3.6.1.2.1.1.3.0"])


def test_decodes_pysnmp_v1_trap() -> None:
    p = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
    pdu = p.TrapPDU()
    p.apiTrapPDU.set_defaults(pdu)
    p.apiTrapPDU.set_enterprise(pdu, (1, 3, 6, 1, 4, 1, 8072))
    p.apiTrapPDU.set_agent_address(pdu, p.IpAddress("192.0.2.9"))
    p.apiTrapPDU.set_generic_trap(pdu, 2)
    p.apiTrapPDU.set_timestamp(pdu, 777)
    p.apiTrapPDU.set_varbinds(pdu, [("1.3.6.1.2.1.2.2.1.1.3", p.Integer(3))])
    msg = p.Message()
    p.apiMessage.set_defaults(msg)
    p.apiMessage.set_community(msg, "traps")
    p.apiMessage.set_pdu(msg, pdu)
    got = decode_message(asn1_encoder.encode(msg))
    assert got.version == 0 and got.pdu.type == "Trap"
    assert (got.pdu.enterprise, got.pdu.agent_addr, got.pdu.generic_trap) == (
        "1.3.6.1.4.1.8072",
        "192.0.2.9",
        2,
    )
    assert (got.pdu.specific_trap, got.pdu.time_stamp) == (0, 777)
    assert got.pdu.varbinds == [("1.3.6.1.2.1.2.2.1.1.3", "INTEGER", 3)]


@pytest.mark.parametrize("kind", ["SNMPv2-Trap", "InformRequest", "Report", "GetNextRequest", "SetRequest"])
def test_other_pdus_round_trip(kind: str) -> None:
    msg = Message(1, b"x", Pdu(kind, 5, 0, 0, VARBINDS[:3]))
    assert decode_message(encode_message(msg)) == msg


def test_v1_trap_round_trip_and_pyasn1_agrees() -> None:
    msg = Message(
        0,
        b"pub",
        Pdu(
            "Trap",
            enterprise="1.3.6.1.4.1.9",
            agent_addr="10.1.2.3",
            generic_trap=6,
            specific_trap=17,
            time_stamp=99,
            varbinds=VARBINDS[:2],
        ),
    )
    data = encode_message(msg)
    assert decode_message(data) == msg
    _decoded, rest = asn1_decoder.decode(data, asn1Spec=api.PROTOCOL_MODULES[api.SNMP_VERSION_1].Message())
    assert rest == b""


def test_peek_version_and_v3_refused() -> None:
    data = encode_get(1, "c", 1, ["1.3.6.1"])
    assert peek_version(data) == 1
    v3 = bytes.fromhex("300e020103") + bytes.fromhex("3000") + bytes.fromhex("0400") + bytes.fromhex("3000")
    with pytest.raises(BerError):
        decode_message(v3)


@pytest.mark.parametrize(
    "oid",
    ["", "1", "3.1", "1.40", "1.3.x", "-1.3"],
)
def test_bad_oid_strings(oid: str) -> None:
    with pytest.raises(BerError):
        encode_oid(oid)


def test_large_arcs() -> None:
    oid = "2.999.4294967295.18446744073709551615.0"
    msg = decode_message(encode_response(1, "c", 1, [(oid, "NULL", None)]))
    assert msg.pdu.varbinds[0][0] == oid


def test_long_length_form() -> None:
    big = b"x" * 70000
    msg = decode_message(encode_response(1, "c", 1, [("1.3.6.1.2.1.1.1.0", "OCTET STRING", big)]))
    assert msg.pdu.varbinds[0][2] == big


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_ber_error(data: bytes) -> None:
    with contextlib.suppress(BerError):
        decode_message(data)


_VALID = encode_response(1, "public", 77, VARBINDS)
_TRAP = encode_message(
    Message(
        0,
        b"p",
        Pdu(
            "Trap",
            enterprise="1.3.6.1.4.1.9",
            agent_addr="1.2.3.4",
            generic_trap=3,
            specific_trap=0,
            time_stamp=5,
            varbinds=VARBINDS,
        ),
    )
)


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from([_VALID, _TRAP]), st.data())
def test_truncated_and_mutated_valid_messages(msg: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(msg) - 1))
    with pytest.raises(BerError):
        decode_message(msg[:cut])
    pos = data.draw(st.integers(0, len(msg) - 1))
    byte = data.draw(st.integers(0, 255))
    mutated = msg[:pos] + bytes((byte,)) + msg[pos + 1 :]
    with contextlib.suppress(BerError):
        decode_message(mutated)
