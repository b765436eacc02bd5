"""pysnmp (v3 path) varbind values map to the same (oid, type, value) form as the BER codec."""

from __future__ import annotations

from typing import Any

import pytest
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.rfc1902 import ObjectName

from ingest.traps.convert import format_value
from ingest.traps.v3 import pyasn1_varbind

OID = ObjectName("1.3.6.1.2.1.2.2.1.8.3")


@pytest.mark.parametrize(
    ("value", "type_name", "python"),
    [
        (rfc1902.Integer32(2), "INTEGER", 2),
        (rfc1902.Integer(-7), "INTEGER", -7),
        (rfc1902.OctetString(b"eth0"), "OCTET STRING", b"eth0"),
        (rfc1902.IpAddress("10.1.2.3"), "IpAddress", "10.1.2.3"),
        (rfc1902.Counter32(5), "Counter32", 5),
        (rfc1902.Counter64(2**40), "Counter64", 2**40),
        (rfc1902.Gauge32(9), "Gauge32", 9),
        (rfc1902.Unsigned32(9), "Gauge32", 9),
        (rfc1902.TimeTicks(123), "TimeTicks", 123),
        (rfc1902.ObjectIdentifier("1.3.6.1.6.3.1.1.5.3"), "OID", "1.3.6.1.6.3.1.1.5.3"),
        (rfc1902.Opaque(b"\x01"), "Opaque", b"\x01"),
        (rfc1905.noSuchInstance, "noSuchInstance", None),
        (rfc1902.Bits(b"\x80"), "OCTET STRING", b"\x80"),
    ],
)
def test_pyasn1_values(value: Any, type_name: str, python: Any) -> None:
    oid, got_type, got = pyasn1_varbind(OID, value)
    assert (oid, got_type, got) == ("1.3.6.1.2.1.2.2.1.8.3", type_name, python)
    format_value(got_type, got)  # every mapped value formats
