"""Pure parts of the trap receiver: v1 -> v2 (RFC 3584), names, varbind text, auth rules."""

from __future__ import annotations

import msgspec
import pytest

from ingest.snmp.ber import Pdu
from ingest.traps.auth import TrapAuth, V3User, engine_id_bytes
from ingest.traps.convert import build_trap, format_value, v1_to_v2
from ingest.traps.oids import SNMP_TRAP_OID, SYS_UPTIME, OidNames, load_mib_names
from netvigil.settings import CollectorSettings, Settings, TrapV3User

NAMES = OidNames()


def _v1(generic: int, specific: int = 0, enterprise: str = "1.3.6.1.4.1.8072.3.2.10") -> Pdu:
    return Pdu(
        "Trap",
        varbinds=[("1.3.6.1.2.1.2.2.1.1.3", "INTEGER", 3)],
        enterprise=enterprise,
        agent_addr="127.0.0.9",
        generic_trap=generic,
        specific_trap=specific,
        time_stamp=4242,
    )


def test_v1_generic_trap_becomes_snmp_traps_oid() -> None:
    vbs = v1_to_v2(_v1(2))  # linkDown
    assert vbs[0] == (SYS_UPTIME, "TimeTicks", 4242)
    assert vbs[1] == (SNMP_TRAP_OID, "OID", "1.3.6.1.6.3.1.1.5.3")
    assert vbs[2] == ("1.3.6.1.2.1.2.2.1.1.3", "INTEGER", 3)
    assert ("1.3.6.1.6.3.18.1.3.0", "IpAddress", "127.0.0.9") in vbs
    assert ("1.3.6.1.6.3.1.1.4.3.0", "OID", "1.3.6.1.4.1.8072.3.2.10") in vbs


@pytest.mark.parametrize(
    ("generic", "name"),
    [(0, "coldStart"), (1, "warmStart"), (2, "linkDown"), (3, "linkUp"), (4, "authenticationFailure")],
)
def test_generic_trap_names(generic: int, name: str) -> None:
    trap = build_trap(v1_to_v2(_v1(generic)), names=NAMES, source="127.0.0.9:162", version="v1")
    assert trap.trap_name == name
    assert trap.uptime == 4242


def test_v1_enterprise_specific_trap() -> None:
    vbs = v1_to_v2(_v1(6, 17, "1.3.6.1.4.1.9999.1"))
    assert vbs[1] == (SNMP_TRAP_OID, "OID", "1.3.6.1.4.1.9999.1.0.17")


def test_community_never_in_the_v2_form() -> None:
    vbs = v1_to_v2(_v1(2))
    assert all(oid != "1.3.6.1.6.3.18.1.4.0" for oid, _, _ in vbs)  # snmpTrapCommunity.0


def test_build_trap_keeps_varbinds_with_names() -> None:
    vbs = [
        (SYS_UPTIME, "TimeTicks", 100),
        (SNMP_TRAP_OID, "OID", "1.3.6.1.6.3.1.1.5.3"),
        ("1.3.6.1.2.1.2.2.1.1.7", "INTEGER", 7),
        ("1.3.6.1.2.1.2.2.1.7.7", "INTEGER", 1),
        ("1.3.6.1.2.1.2.2.1.8.7", "INTEGER", 2),
        ("1.3.6.1.2.1.2.2.1.2.7", "OCTET STRING", b"eth7"),
    ]
    trap = build_trap(vbs, names=NAMES, source="127.0.0.9:1000", version="v2c", device="sw1")
    assert trap.trap_oid == "1.3.6.1.6.3.1.1.5.3"
    assert trap.trap_name == "linkDown"
    assert [v.name for v in trap.varbinds] == ["ifIndex.7", "ifAdminStatus.7", "ifOperStatus.7", "ifDescr.7"]
    assert trap.varbinds[3].value == "eth7"
    assert trap.varbinds[0].type == "INTEGER"
    assert trap.device == "sw1"
    trap.validate()


def test_build_trap_without_trap_oid_is_an_error() -> None:
    with pytest.raises(ValueError, match="snmpTrapOID"):
        build_trap([(SYS_UPTIME, "TimeTicks", 1)], names=NAMES, source="x:1", version="v2c")


@pytest.mark.parametrize(
    ("type_name", "value", "text"),
    [
        ("OCTET STRING", b"hello world", "hello world"),
        ("OCTET STRING", b"\x00\x1b\x21\xff", "0x001b21ff"),
        ("OCTET STRING", "caf\u00e9".encode(), "caf\u00e9"),
        ("INTEGER", -5, "-5"),
        ("Counter64", 2**64 - 1, str(2**64 - 1)),
        ("IpAddress", "10.1.2.3", "10.1.2.3"),
        ("OID", "1.3.6.1", "1.3.6.1"),
        ("NULL", None, ""),
        ("noSuchInstance", None, "noSuchInstance"),
    ],
)
def test_format_value(type_name: str, value: object, text: str) -> None:
    assert format_value(type_name, value) == text


def test_names_longest_prefix_and_unknown() -> None:
    assert NAMES.name("1.3.6.1.2.1.2.2.1.8.12") == "ifOperStatus.12"
    assert NAMES.name("1.3.6.1.6.3.1.1.5.4") == "linkUp"
    assert NAMES.name("1.2.3.4.5") == "1.2.3.4.5"
    assert NAMES.name("1.3.6.1.2.1.2.2.1.8.12") == "ifOperStatus.12"  # cached path


def test_names_from_compiled_mibs() -> None:
    table = load_mib_names()
    names = OidNames(table)
    assert len(names) > len(NAMES)
    assert names.name("1.3.6.1.2.1.31.1.1.1.6.3") == "ifHCInOctets.3"  # IF-MIB, not built in
    assert names.name("1.3.6.1.6.3.1.1.5.3") == "linkDown"


def test_engine_id_forms() -> None:
    assert engine_id_bytes("0x8000000001020304") == bytes.fromhex("8000000001020304")
    assert engine_id_bytes("80:00:00:00:01") == bytes.fromhex("8000000001")
    with pytest.raises(ValueError, match="octets"):
        engine_id_bytes("0x0102")
    with pytest.raises(ValueError, match="hexadecimal"):
        engine_id_bytes("zz00000000")


def test_v3_user_validation_and_repr_hides_keys() -> None:
    cfg = TrapV3User(
        user="nms", engine_id="0x8000000001020304", auth_proto="sha", auth_key="authsecret1",
        priv_proto="aes", priv_key="privsecret1",
    )  # fmt: skip
    user = V3User.from_settings(cfg)
    assert user.auth_proto == "SHA"
    assert "authsecret1" not in repr(user)
    assert "privsecret1" not in repr(user)
    with pytest.raises(ValueError, match="privacy needs authentication"):
        V3User.from_settings(TrapV3User(user="u", engine_id="8000000001", priv_proto="AES", priv_key="x" * 8))
    with pytest.raises(ValueError, match="unknown auth protocol"):
        V3User.from_settings(
            TrapV3User(user="u", engine_id="8000000001", auth_proto="SHA3", auth_key="x" * 8)
        )
    with pytest.raises(ValueError, match="at least 8"):
        V3User.from_settings(TrapV3User(user="u", engine_id="8000000001", auth_proto="MD5", auth_key="short"))


def test_community_check() -> None:
    auth = TrapAuth(["public", "s3cret"], [])
    assert auth.community_ok(b"s3cret")
    assert not auth.community_ok(b"s3cre")
    assert not auth.community_ok(b"")


def test_settings_mask_trap_secrets() -> None:
    collector = msgspec.convert(
        {
            "trap_communities": ["topsecret"],
            "trap_v3_users": [
                {"user": "nms", "engine_id": "8000000001", "auth_proto": "SHA", "auth_key": "k" * 9}
            ],
        },
        CollectorSettings,
    )
    masked = str(Settings(collector=collector).masked())
    assert "topsecret" not in masked
    assert "k" * 9 not in masked
    assert "nms" in masked


def test_names_from_the_projects_compiled_map() -> None:
    names = OidNames(load_mib_names())
    assert names.name("1.0.8802.1.1.2.1.4.1.1.9.1.2.3") == "lldpRemSysName.1.2.3"  # LLDP-MIB, compiled here
