"""A small, fast, pure-Python BER codec for SNMP v1/v2c messages.

Why our own: pysnmp's generic ASN.1 machinery (pyasn1) spends most of a bulk
walk's CPU building and tearing down objects; SNMP messages use a handful of
fixed shapes, so a direct codec is several times faster and lets one poller
process walk well above 10,000 values/s. SNMPv3 stays with pysnmp (USM,
crypto); :func:`peek_version` tells the two apart.

API
---
Encode (all return ``bytes``)::

    encode_get(version, community, request_id, oids)
    encode_getnext(version, community, request_id, oids)
    encode_getbulk(community, request_id, oids, non_repeaters=0, max_repetitions=25)
    encode_response(version, community, request_id, varbinds, error_status=0, error_index=0)
    encode_message(Message(...))          # any PDU, v1 Trap-PDU included

``version`` is the wire value: 0 = v1, 1 = v2c. ``community`` is ``bytes`` or
``str``. OIDs are dotted strings ("1.3.6.1.2.1.1.3.0"; a leading dot is fine).
A varbind is a tuple ``(oid, type_name, value)``.

Decode::

    msg = decode_message(data)            # -> Message; raises BerError only
    msg.version, msg.community, msg.pdu.type, msg.pdu.request_id,
    msg.pdu.error_status, msg.pdu.error_index     # (GetBulk: non_repeaters,
    msg.pdu.varbinds                               #  max_repetitions)
    msg.pdu.enterprise, .agent_addr, .generic_trap, .specific_trap, .time_stamp  # v1 Trap

PDU type names: GetRequest, GetNextRequest, Response, SetRequest, Trap (v1),
GetBulkRequest, InformRequest, SNMPv2-Trap, Report.

Value types and their Python values: INTEGER int, OCTET STRING bytes, NULL
None, OID str, IpAddress str ("10.0.0.1"), Counter32 / Gauge32 / TimeTicks /
Counter64 int, Opaque bytes, noSuchObject / noSuchInstance / endOfMibView
None.

Malformed input of any kind raises :class:`BerError` (a ``ValueError``) with
one line saying what is wrong and at which offset; nothing else escapes
(property-tested with random and truncated input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = [
    "EXCEPTION_TYPES",
    "PDU_TAGS",
    "BerError",
    "Message",
    "Pdu",
    "VarBind",
    "decode_message",
    "decode_oid",
    "encode_get",
    "encode_getbulk",
    "encode_getnext",
    "encode_message",
    "encode_oid",
    "encode_response",
    "peek_version",
]

VarBind = tuple[str, str, Any]


class BerError(ValueError):
    """The bytes are not a well-formed SNMP v1/v2c message; ``str()`` says why."""


PDU_TAGS: dict[str, int] = {
    "GetRequest": 0xA0,
    "GetNextRequest": 0xA1,
    "Response": 0xA2,
    "SetRequest": 0xA3,
    "Trap": 0xA4,
    "GetBulkRequest": 0xA5,
    "InformRequest": 0xA6,
    "SNMPv2-Trap": 0xA7,
    "Report": 0xA8,
}
_PDU_NAMES = {tag: name for name, tag in PDU_TAGS.items()}

_TYPE_TAGS: dict[str, int] = {
    "INTEGER": 0x02,
    "OCTET STRING": 0x04,
    "NULL": 0x05,
    "OID": 0x06,
    "IpAddress": 0x40,
    "Counter32": 0x41,
    "Gauge32": 0x42,
    "TimeTicks": 0x43,
    "Opaque": 0x44,
    "Counter64": 0x46,
    "noSuchObject": 0x80,
    "noSuchInstance": 0x81,
    "endOfMibView": 0x82,
}
_TYPE_NAMES = {tag: name for name, tag in _TYPE_TAGS.items()}
_UNSIGNED_MAX = {0x41: 1 << 32, 0x42: 1 << 32, 0x43: 1 << 32, 0x46: 1 << 64}
EXCEPTION_TYPES = frozenset({"noSuchObject", "noSuchInstance", "endOfMibView"})


@dataclass(slots=True)
class Pdu:
    """One PDU. For GetBulkRequest ``error_status``/``error_index`` hold
    non-repeaters/max-repetitions (same wire position); use the properties."""

    type: str
    request_id: int = 0
    error_status: int = 0
    error_index: int = 0
    varbinds: list[VarBind] = field(default_factory=list)
    enterprise: str | None = None
    agent_addr: str | None = None
    generic_trap: int | None = None
    specific_trap: int | None = None
    time_stamp: int | None = None

    @property
    def non_repeaters(self) -> int:
        return self.error_status

    @property
    def max_repetitions(self) -> int:
        return self.error_index


@dataclass(slots=True)
class Message:
    version: int  # 0 = v1, 1 = v2c
    community: bytes
    pdu: Pdu


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------
def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _len(len(body)) + body


def _int_body(value: int) -> bytes:
    return value.to_bytes(max(1, (value + (value < 0)).bit_length() // 8 + 1), "big", signed=True)


def _uint_body(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


@lru_cache(maxsize=65536)
def encode_oid(oid: str) -> bytes:
    """The full TLV of an OBJECT IDENTIFIER; raises BerError on a bad string."""
    try:
        arcs = [int(a) for a in oid.strip(".").split(".")]
    except ValueError:
        raise BerError(f"not a numeric OID: {oid!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise BerError(f"not a valid OID: {oid!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _value(type_name: str, value: Any) -> bytes:
    tag = _TYPE_TAGS.get(type_name)
    if tag is None:
        raise BerError(f"unknown value type {type_name!r}")
    if tag == 0x02:
        return _tlv(tag, _int_body(int(value)))
    if tag in _UNSIGNED_MAX:
        if not 0 <= int(value) < _UNSIGNED_MAX[tag]:
            raise BerError(f"{type_name} value {value} out of range")
        return _tlv(tag, _uint_body(int(value)))
    if tag in (0x04, 0x44):
        return _tlv(tag, value.encode() if isinstance(value, str) else bytes(value))
    if tag == 0x06:
        return encode_oid(str(value))
    if tag == 0x40:
        try:
            octets = bytes(int(p) for p in str(value).split("."))
        except ValueError:
            raise BerError(f"bad IpAddress {value!r}") from None
        if len(octets) != 4:
            raise BerError(f"bad IpAddress {value!r}")
        return _tlv(tag, octets)
    return bytes((tag, 0))  # NULL and the exception values


def _varbinds(varbinds: list[VarBind]) -> bytes:
    return _tlv(0x30, b"".join(_tlv(0x30, encode_oid(o) + _value(t, v)) for o, t, v in varbinds))


def encode_message(msg: Message) -> bytes:
    """Encode any v1/v2c message, the v1 Trap-PDU included."""
    pdu = msg.pdu
    tag = PDU_TAGS.get(pdu.type)
    if tag is None:
        raise BerError(f"unknown PDU type {pdu.type!r}")
    if tag == 0xA4:
        head = (
            encode_oid(pdu.enterprise or "0.0")
            + _value("IpAddress", pdu.agent_addr or "0.0.0.0")  # noqa: S104 - a value, not a bind
            + _value("INTEGER", pdu.generic_trap or 0)
            + _value("INTEGER", pdu.specific_trap or 0)
            + _value("TimeTicks", pdu.time_stamp or 0)
        )
    else:
        head = (
            _value("INTEGER", pdu.request_id)
            + _value("INTEGER", pdu.error_status)
            + _value("INTEGER", pdu.error_index)
        )
    community = msg.community.encode() if isinstance(msg.community, str) else msg.community
    body = _value("INTEGER", msg.version) + _tlv(0x04, community) + _tlv(tag, head + _varbinds(pdu.varbinds))
    return _tlv(0x30, body)


def _request(
    tag: int, version: int, community: bytes | str, rid: int, a: int, b: int, oids: list[str]
) -> bytes:
    vbs = b"".join(_tlv(0x30, encode_oid(o) + b"\x05\x00") for o in oids)
    head = _tlv(0x02, _int_body(rid)) + _tlv(0x02, _int_body(a)) + _tlv(0x02, _int_body(b))
    comm = community.encode() if isinstance(community, str) else community
    return _tlv(0x30, _tlv(0x02, _int_body(version)) + _tlv(0x04, comm) + _tlv(tag, head + _tlv(0x30, vbs)))


def encode_get(version: int, community: bytes | str, request_id: int, oids: list[str]) -> bytes:
    return _request(0xA0, version, community, request_id, 0, 0, oids)


def encode_getnext(version: int, community: bytes | str, request_id: int, oids: list[str]) -> bytes:
    return _request(0xA1, version, community, request_id, 0, 0, oids)


def encode_getbulk(
    community: bytes | str,
    request_id: int,
    oids: list[str],
    non_repeaters: int = 0,
    max_repetitions: int = 25,
) -> bytes:
    """GetBulk exists only in v2c (wire version 1)."""
    return _request(0xA5, 1, community, request_id, non_repeaters, max_repetitions, oids)


def encode_response(
    version: int,
    community: bytes | str,
    request_id: int,
    varbinds: list[VarBind],
    error_status: int = 0,
    error_index: int = 0,
) -> bytes:
    comm = community.encode() if isinstance(community, str) else community
    return encode_message(
        Message(version, comm, Pdu("Response", request_id, error_status, error_index, varbinds))
    )


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------
def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos``, within ``end``."""
    if pos + 2 > end:
        raise BerError(f"truncated TLV header at offset {pos}")
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise BerError(f"indefinite length at offset {pos - 2} is not allowed in SNMP")
        if k > 4 or pos + k > end:
            raise BerError(f"bad length field at offset {pos - 2}")
        n = int.from_bytes(data[pos : pos + k], "big")
        pos += k
    if pos + n > end:
        raise BerError(f"length {n} at offset {pos} runs past the end of its container")
    return tag, pos, pos + n


def decode_oid(body: bytes) -> str:
    """Dotted string from the content octets of an OBJECT IDENTIFIER."""
    if not body:
        raise BerError("empty OID")
    if body[-1] & 0x80:
        raise BerError("OID ends inside a sub-identifier")
    arcs: list[int] = []
    acc = 0
    for byte in body:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(acc)
            acc = 0
    first = arcs[0]
    head = f"{min(first // 40, 2)}.{first - 40 * min(first // 40, 2)}"
    if len(arcs) == 1:
        return head
    return head + "." + ".".join(map(str, arcs[1:]))


def _int(data: bytes, pos: int, end: int, what: str, want: int = 0x02) -> tuple[int, int]:
    tag, s, e = _header(data, pos, end)
    if tag != want:
        raise BerError(f"{what}: expected tag 0x{want:02x}, got 0x{tag:02x} at offset {pos}")
    if s == e:
        raise BerError(f"{what}: empty integer at offset {pos}")
    return int.from_bytes(data[s:e], "big", signed=want == 0x02), e


def _decode_value(tag: int, body: bytes, where: int) -> tuple[str, Any]:
    name = _TYPE_NAMES.get(tag)
    if name is None:
        raise BerError(f"unknown value tag 0x{tag:02x} at offset {where}")
    if tag == 0x04 or tag == 0x44:
        return name, body
    if tag == 0x02:
        if not body:
            raise BerError(f"empty INTEGER at offset {where}")
        return name, int.from_bytes(body, "big", signed=True)
    if tag in _UNSIGNED_MAX:
        limit = _UNSIGNED_MAX[tag]
        if not body or len(body) > (9 if limit > 1 << 32 else 5):
            raise BerError(f"bad {name} length {len(body)} at offset {where}")
        return name, int.from_bytes(body, "big") % limit
    if tag == 0x06:
        return name, decode_oid(body)
    if tag == 0x40:
        if len(body) != 4:
            raise BerError(f"IpAddress of {len(body)} octets at offset {where}")
        return name, ".".join(map(str, body))
    if body:
        raise BerError(f"{name} with content at offset {where}")
    return name, None


def _decode_varbinds(data: bytes, pos: int, end: int) -> list[VarBind]:
    tag, pos, stop = _header(data, pos, end)
    if tag != 0x30:
        raise BerError(f"varbind list: expected SEQUENCE at offset {pos}")
    if stop != end:
        raise BerError(f"{end - stop} stray bytes after the varbind list")
    out: list[VarBind] = []
    append = out.append
    while pos < stop:
        tag, s, e = _header(data, pos, stop)
        if tag != 0x30:
            raise BerError(f"varbind: expected SEQUENCE at offset {pos}")
        tag, os_, oe = _header(data, s, e)
        if tag != 0x06:
            raise BerError(f"varbind name: expected OID at offset {s}")
        vtag, vs, ve = _header(data, oe, e)
        if ve != e:
            raise BerError(f"stray bytes inside the varbind at offset {pos}")
        type_name, value = _decode_value(vtag, data[vs:ve], oe)
        append((decode_oid(data[os_:oe]), type_name, value))
        pos = e
    return out


def peek_version(data: bytes) -> int:
    """The wire version (0 v1, 1 v2c, 3 v3) without decoding the rest."""
    tag, s, e = _header(data, 0, len(data))
    if tag != 0x30:
        raise BerError("not an SNMP message: does not start with a SEQUENCE")
    return _int(data, s, e, "version")[0]


def decode_message(data: bytes) -> Message:
    """Decode one v1/v2c message. Raises :class:`BerError` and nothing else."""
    try:
        return _decode(bytes(data))
    except BerError:
        raise
    except (IndexError, ValueError, TypeError, OverflowError) as exc:  # defence in depth
        raise BerError(f"malformed message: {exc}") from None


def _decode(data: bytes) -> Message:
    tag, s, e = _header(data, 0, len(data))
    if tag != 0x30:
        raise BerError("not an SNMP message: does not start with a SEQUENCE")
    if e != len(data):
        raise BerError(f"{len(data) - e} stray bytes after the message")
    version, pos = _int(data, s, e, "version")
    if version not in (0, 1):
        raise BerError(f"unsupported SNMP version {version} (wire value; v3 is 3)")
    tag, cs, ce = _header(data, pos, e)
    if tag != 0x04:
        raise BerError(f"community: expected OCTET STRING at offset {pos}")
    community = data[cs:ce]
    ptag, ps, pe = _header(data, ce, e)
    pdu_type = _PDU_NAMES.get(ptag)
    if pdu_type is None:
        raise BerError(f"unknown PDU tag 0x{ptag:02x} at offset {ce}")
    if pe != e:
        raise BerError(f"{e - pe} stray bytes after the PDU")
    if ptag == 0xA4:
        tag, os_, oe = _header(data, ps, pe)
        if tag != 0x06:
            raise BerError(f"trap enterprise: expected OID at offset {ps}")
        enterprise = decode_oid(data[os_:oe])
        tag, as_, ae = _header(data, oe, pe)
        if tag != 0x40 or ae - as_ != 4:
            raise BerError(f"trap agent-addr: expected a 4-octet IpAddress at offset {oe}")
        generic, pos = _int(data, ae, pe, "generic-trap")
        specific, pos = _int(data, pos, pe, "specific-trap")
        stamp, pos = _int(data, pos, pe, "time-stamp", want=0x43)
        pdu = Pdu(
            "Trap",
            varbinds=_decode_varbinds(data, pos, pe),
            enterprise=enterprise,
            agent_addr=".".join(map(str, data[as_:ae])),
            generic_trap=generic,
            specific_trap=specific,
            time_stamp=stamp,
        )
        return Message(version, community, pdu)
    rid, pos = _int(data, ps, pe, "request-id")
    a, pos = _int(data, pos, pe, "error-status")
    b, pos = _int(data, pos, pe, "error-index")
    return Message(version, community, Pdu(pdu_type, rid, a, b, _decode_varbinds(data, pos, pe)))
