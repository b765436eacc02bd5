"""Hostile input to the trap decoder and the syslog parser: 100,000 inputs each.

A seeded mutational fuzzer starting from valid messages (flips, truncations,
splices, length-field corruption, random bytes). The trap path must either
produce a Trap record or raise ``BerError``/``ValueError`` (counted and
dead-lettered by the receiver); the syslog parser must return a record for
every input (unparseable lines become ``format="raw"``), never raise.
"""

from __future__ import annotations

import random

from ingest.snmp.ber import BerError, Message, Pdu, decode_message, encode_message
from ingest.syslog.parse import parse
from ingest.traps.convert import build_trap, v1_to_v2
from ingest.traps.oids import OidNames
from netvigil.records import SyslogMessage, Trap

N_INPUTS = 100_000

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
SEEDS_TRAP = [
    encode_message(Message(1, b"public", Pdu("SNMPv2-Trap", 7, 0, 0, [
        ("1.3.6.1.2.1.1.3.0", "TimeTicks", 12345),
        ("1.3.6.1.6.3.1.1.4.1.0", "OID", LINK_DOWN),
        ("1.3.6.1.2.1.2.2.1.1.3", "INTEGER", 3),
        ("1.3.6.1.2.1.2.2.1.2.3", "OCTET STRING", b"eth0"),
        ("1.3.6.1.2.1.31.1.1.1.6.3", "Counter64", 2**63),
    ]))),
    encode_message(Message(1, b"public", Pdu("InformRequest", 9, 0, 0, [
        ("1.3.6.1.2.1.1.3.0", "TimeTicks", 1),
        ("1.3.6.1.6.3.1.1.4.1.0", "OID", "1.3.6.1.6.3.1.1.5.1"),
        ("1.3.6.1.4.1.8072.2.3.2.1", "IpAddress", "10.0.0.1"),
    ]))),
    encode_message(Message(0, b"public", Pdu("Trap", enterprise="1.3.6.1.4.1.8072.2.3", agent_addr="127.0.0.5",
                                             generic_trap=2, specific_trap=0, time_stamp=42, varbinds=[
        ("1.3.6.1.2.1.2.2.1.1.2", "INTEGER", 2)]))),
]  # fmt: skip

SEEDS_SYSLOG = [
    b'<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [exampleSDID@32473 iut="3" '
    b"eventSource=\"Application\"] \xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
    b"<13>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
    b"<189>123: *Mar  1 18:46:11.123: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down",
    b"<28>Nov 25 02:00:00 fw1 mgd[1234]: UI_COMMIT: User 'root' requested 'commit' operation",
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(7)
    if op == 0 and b:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif op == 1:
        b = b[: rng.randrange(len(b) + 1)]
    elif op == 2:
        at = rng.randrange(len(b) + 1)
        b[at:at] = rng.randbytes(rng.randint(1, 8))
    elif op == 3 and len(b) > 2:  # corrupt what is likely a length byte
        i = rng.randrange(1, len(b))
        b[i] = rng.choice([0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF])
    elif op == 4:
        i = rng.randrange(len(b) + 1)
        j = rng.randrange(i, len(b) + 1)
        b[j:j] = b[i:j] * rng.randint(1, 3)
    elif op == 5:
        b = bytearray(rng.randbytes(rng.randrange(80)))
    else:
        del b[rng.randrange(len(b)) if b else 0 : rng.randrange(len(b) + 1) if b else 0]
    return bytes(b)


def _trap_path(data: bytes, names: OidNames) -> Trap:
    """What the receiver does for a v1/v2c datagram, up to the record."""
    msg = decode_message(data)
    pdu = msg.pdu
    if pdu.type == "Trap":
        varbinds = v1_to_v2(pdu)
    elif pdu.type in ("SNMPv2-Trap", "InformRequest"):
        varbinds = list(pdu.varbinds)
    else:
        raise ValueError(f"not a notification: {pdu.type}")
    return build_trap(varbinds, names=names, source="127.0.0.5:1", version="v2c")


def test_trap_decoder_survives_100k_mutations() -> None:
    rng = random.Random("netvigil-traps")
    names = OidNames()
    decoded = refused = 0
    for i in range(N_INPUTS):
        data = _mutate(rng, SEEDS_TRAP[i % len(SEEDS_TRAP)])
        try:
            record = _trap_path(data, names)
        except (BerError, ValueError):
            refused += 1
            continue
        assert isinstance(record, Trap) and record.trap_oid
        decoded += 1
    assert decoded + refused == N_INPUTS
    assert refused > N_INPUTS // 4 and decoded > 0


def test_syslog_parser_survives_100k_mutations() -> None:
    rng = random.Random("netvigil-syslog")
    formats: dict[str, int] = {}
    for i in range(N_INPUTS):
        data = _mutate(rng, SEEDS_SYSLOG[i % len(SEEDS_SYSLOG)])
        msg = parse(data, received=1.7e9, source="127.0.0.5", transport="udp")
        assert isinstance(msg, SyslogMessage)
        msg.validate()
        formats[msg.format] = formats.get(msg.format, 0) + 1
    assert sum(formats.values()) == N_INPUTS
    assert formats.get("raw", 0) > 0 and len(formats) >= 3
