"""Device files, discovery helpers and net-snmp style options: pure logic."""

from __future__ import annotations

import click
import pytest

from ingest.snmp.cliopts import credentials_from, parse_target
from ingest.snmp.devfile import DeviceFileError, dump_devices, order_by_parent, parse_devices
from ingest.snmp.discover import Identity, device_name, hosts_of
from netvigil.inventory import Credentials, Device

GOOD = """
- name: core
  address: 10.0.0.1
  credentials: {version: v3, user: nms, auth_proto: SHA256, auth_key: authpass123, priv_proto: AES256,
                priv_key: privpass123}
  tags: {site: lab}
- name: leaf
  address: 10.0.0.2
  parent: core
  modules: [system, interfaces, lldp]
  credentials: {version: v2c, community: public}
"""


def test_parse_and_dump_round_trip_masks_secrets() -> None:
    devices = parse_devices(GOOD)
    assert [d.name for d in devices] == ["core", "leaf"]
    text = dump_devices(devices)
    assert "authpass123" not in text and "public" not in text and "<secret>" in text
    again = parse_devices(text, {d.name: d for d in devices})  # <secret> keeps the stored value
    assert again == devices
    assert "privpass123" in dump_devices(devices, with_secrets=True)


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("- name: a\n  address: x\n  snmp: 2\n", "line 1: device 'a': Object contains unknown field `snmp`"),
        ("- name: a\n  address: x\n- name: b\n  address: y\n  port: 0\n", "line 3: device 'b'"),
        ("- name: a\n  address: x\n  credentials: {version: v2c}\n", "needs a community"),
        ("- name: a\n  address: x\n  credentials: {version: v3, user: u, auth_proto: SHA1000, auth_key: k12345678}\n",
         "unknown auth protocol"),
        ("- [1, 2]\n", "expected a mapping"),
        ("{a: 1}\n", "expected a list"),
        ("- name: a\n  address: x\n  poll_interval: -5\n", "poll_interval positive"),
        ("- name: a\n  address: x\n  modules: [bgp]\n", "unknown module(s) bgp"),
        ("- name: a\n  address: x\n  tags: {site: [1]}\n", "device 'a'"),
        (": : :\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_bad_files_name_the_problem(text: str, expect: str) -> None:
    with pytest.raises(DeviceFileError) as err:
        parse_devices(text)
    assert expect in str(err.value)


def test_parent_order_and_cycles() -> None:
    a = Device(name="a", address="x", parent="b")
    b = Device(name="b", address="y", parent="known")
    assert [d.name for d in order_by_parent([a, b], {"known"})] == ["b", "a"]
    with pytest.raises(DeviceFileError, match="unknown"):
        order_by_parent([a, b], set())
    with pytest.raises(DeviceFileError, match="cycle"):
        order_by_parent([a, Device(name="b", address="y", parent="a")], set())


def test_discovery_helpers() -> None:
    assert hosts_of("10.0.0.0/30") == ["10.0.0.1", "10.0.0.2"]
    assert hosts_of("10.0.0.7/32") == ["10.0.0.7"]
    with pytest.raises(ValueError):
        hosts_of("10.0.0.0/8")
    ident = Identity("10.0.0.9", "sw 1 (lab)", "d", "1.3.6")
    assert device_name(ident, set()) == "sw-1-lab"
    assert device_name(ident, {"sw-1-lab"}) == "sw-1-lab-10.0.0.9"
    assert device_name(Identity("10.0.0.9", "", "", ""), set()) == "10.0.0.9"


def test_net_snmp_style_options() -> None:
    c = credentials_from({"version": "3", "user": "u", "level": "authPriv", "auth_proto": "sha-256",
                          "auth_key": "authpass123", "priv_proto": "aes-256", "priv_key": "privpass123"})  # fmt: skip
    assert (c.auth_proto, c.priv_proto) == ("SHA256", "AES256") and "authpass123" not in repr(c)
    assert credentials_from({"version": "2c", "community": "x"}) == Credentials(version="v2c", community="x")
    with pytest.raises(click.BadParameter):
        credentials_from({"version": "2c"})
    assert parse_target("10.0.0.1") == ("10.0.0.1", 161)
    assert parse_target("10.0.0.1:1161") == ("10.0.0.1", 1161)
    assert parse_target("[::1]:1161") == ("::1", 1161)
