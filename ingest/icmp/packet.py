"""ICMP echo packets: build a request, parse a reply (pure, unit-tested)."""

from __future__ import annotations

import struct

__all__ = ["ECHO_REPLY", "ECHO_REQUEST", "checksum", "echo_request", "parse_reply"]

ECHO_REQUEST = 8
ECHO_REPLY = 0
_HEADER = struct.Struct("!BBHHH")


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def echo_request(ident: int, seq: int, payload: bytes = b"netvigil-probe00") -> bytes:
    header = _HEADER.pack(ECHO_REQUEST, 0, 0, ident, seq)
    return _HEADER.pack(ECHO_REQUEST, 0, checksum(header + payload), ident, seq) + payload


def parse_reply(data: bytes, *, has_ip_header: bool) -> tuple[int, int] | None:
    """``(ident, seq)`` of an echo reply, None for anything else (requests we see on lo, errors).

    Raw sockets deliver the IP header first; datagram ping sockets do not.
    """
    start = (data[0] & 0x0F) * 4 if has_ip_header and data else 0
    if len(data) < start + 8:
        return None
    kind, _, _, ident, seq = _HEADER.unpack_from(data, start)
    if kind != ECHO_REPLY:
        return None
    return ident, seq
