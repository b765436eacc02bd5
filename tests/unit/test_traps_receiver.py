"""The receiver's decision for each datagram, without sockets or Kafka.

Datagrams are encoded with the project's BER codec and handed to
``datagram_received``; a recording transport stands in for the socket.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from ingest.snmp.ber import Message, Pdu, decode_message, encode_get, encode_message
from ingest.traps.auth import TrapAuth
from ingest.traps.metrics import TrapStats
from ingest.traps.oids import SNMP_TRAP_OID, SYS_UPTIME, OidNames
from ingest.traps.receiver import DeadLetterItem, Outbound, TrapItem, TrapReceiver
from netvigil.inventory import AddressIndex, Device

ADDR = ("127.0.0.9", 40000)
LINK_DOWN = [(SYS_UPTIME, "TimeTicks", 5), (SNMP_TRAP_OID, "OID", "1.3.6.1.6.3.1.1.5.3")]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


def _receiver(*, v3_only: bool = False) -> tuple[TrapReceiver, asyncio.Queue[Outbound], Recorder]:
    queue: asyncio.Queue[Outbound] = asyncio.Queue(100)
    rx = TrapReceiver(
        names=OidNames(),
        auth=TrapAuth(["public"], [], v3_only=v3_only),
        index=AddressIndex([Device(name="sw9", address="127.0.0.9")]),
        stats=TrapStats(),
        queue=queue,
    )
    rec = Recorder()
    rx.connection_made(rec)  # type: ignore[arg-type]
    return rx, queue, rec


def _v2(pdu_type: str = "SNMPv2-Trap", community: bytes = b"public", rid: int = 7) -> bytes:
    return encode_message(Message(1, community, Pdu(pdu_type, rid, 0, 0, list(LINK_DOWN))))


def test_v2c_trap_is_queued_with_device() -> None:
    rx, queue, _ = _receiver()
    rx.datagram_received(_v2(), ADDR)
    item = queue.get_nowait()
    assert isinstance(item, TrapItem)
    assert item.trap.trap_name == "linkDown"
    assert item.trap.device == "sw9"
    assert item.trap.source == "127.0.0.9:40000"
    assert item.ack is None
    assert rx.stats.counts["received.v2c"] == 1


def test_v1_trap_is_converted() -> None:
    rx, queue, _ = _receiver()
    pdu = Pdu("Trap", enterprise="1.3.6.1.4.1.8072", agent_addr="127.0.0.9", generic_trap=3, time_stamp=9)
    rx.datagram_received(encode_message(Message(0, b"public", pdu)), ADDR)
    item = queue.get_nowait()
    assert isinstance(item, TrapItem)
    assert (item.trap.version, item.trap.trap_name, item.trap.uptime) == ("v1", "linkUp", 9)


def test_inform_ack_is_a_response_with_the_same_request_id() -> None:
    rx, queue, rec = _receiver()
    rx.datagram_received(_v2("InformRequest", rid=4711), ADDR)
    item = queue.get_nowait()
    assert isinstance(item, TrapItem)
    assert item.trap.inform
    assert rec.sent == []  # not before the record is published
    assert item.ack is not None
    item.ack()
    response = decode_message(rec.sent[0][0])
    assert response.pdu.type == "Response"
    assert response.pdu.request_id == 4711
    assert rec.sent[0][1] == ADDR


def test_wrong_community_is_refused_not_queued() -> None:
    rx, queue, _ = _receiver()
    rx.datagram_received(_v2(community=b"private"), ADDR)
    assert queue.empty()
    assert rx.stats.counts["refused.v2c.community"] == 1


def test_v3_only_refuses_v2c() -> None:
    rx, queue, _ = _receiver(v3_only=True)
    rx.datagram_received(_v2(), ADDR)
    assert queue.empty()
    assert rx.stats.counts["refused.v2c.v3_only"] == 1


def test_v3_without_users_is_refused() -> None:
    rx, queue, _ = _receiver()
    rx.datagram_received(bytes.fromhex("3003020103"), ADDR)  # a (minimal) v3 message
    assert queue.empty()
    assert rx.stats.counts["refused.v3.no_v3_users"] == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"garbage that is not BER at all",
        bytes.fromhex("3003020101"),  # truncated
        encode_get(1, "public", 1, ["1.3.6.1.2.1.1.1.0"]),  # not a notification
        encode_message(Message(1, b"public", Pdu("SNMPv2-Trap", 1, 0, 0, [(SYS_UPTIME, "TimeTicks", 1)]))),
    ],
)
def test_malformed_is_dead_lettered_with_raw_bytes(data: bytes) -> None:
    rx, queue, _ = _receiver()
    rx.datagram_received(data, ADDR)
    item = queue.get_nowait()
    assert isinstance(item, DeadLetterItem)
    assert item.payload == data
    assert item.source == "127.0.0.9:40000"
    assert rx.stats.counts["malformed"] == 1


def test_random_bytes_never_raise_and_each_has_one_outcome() -> None:
    rx, _, _ = _receiver()
    rx.queue = queue = asyncio.Queue()
    for _ in range(2000):
        rx.datagram_received(os.urandom(int.from_bytes(os.urandom(1), "big")), ADDR)
    c = rx.stats.counts
    traps = sum(isinstance(queue.get_nowait(), TrapItem) for _ in range(queue.qsize()))
    assert c["received"] == 2000
    assert c["malformed"] + c["refused"] + traps == 2000


def test_full_queue_is_counted_as_dropped() -> None:
    rx, queue, _ = _receiver()
    for _ in range(101):
        rx.datagram_received(_v2(), ADDR)
    assert queue.qsize() == 100
    assert rx.stats.counts["dropped.queue_full"] == 1
