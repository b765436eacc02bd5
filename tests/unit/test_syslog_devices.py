"""Sender -> inventory device: address first, then the hostname the message claims."""

from __future__ import annotations

from ingest.syslog.devices import DeviceMatcher
from netvigil.inventory import Device


def test_address_then_hostname() -> None:
    m = DeviceMatcher([Device(name="core-sw1", address="10.0.0.1"), Device(name="fw01", address="10.0.0.2")])
    assert m.match("10.0.0.1", "whatever") == "core-sw1"
    assert m.match("192.0.2.9", "FW01.example.net") == "fw01"  # relayed: short name, any case
    assert m.match("192.0.2.9", "10.0.0.2") == "fw01"  # hostname field holding an address
    assert m.match("192.0.2.9", None) is None
    assert m.missed  # asks the service for an early inventory reload
    m.update([Device(name="new", address="192.0.2.9")])
    assert not m.missed
    assert m.match("192.0.2.9", None) == "new"  # the per-source cache is cleared on reload
