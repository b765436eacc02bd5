"""The v2c engine's logic against a tiny in-process agent on loopback: request-id
matching, retries, de-duplication, non-increasing OIDs, malformed datagrams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from ingest.snmp.ber import decode_message, encode_response
from ingest.snmp.transport import SnmpError, SnmpTimeout, UdpEngine, V2cTransport, oid_key

TABLE = {f"1.3.6.1.2.1.2.2.1.2.{i}": ("OCTET STRING", f"if{i}".encode()) for i in range(1, 121)}
ORDER = sorted(TABLE, key=oid_key)

Behaviour = Callable[[Any, int], list[bytes]]


class Agent(asyncio.DatagramProtocol):
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour, self.requests = behaviour, 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.requests += 1
        msg = decode_message(data)
        assert self.transport is not None
        for reply in self.behaviour(msg, self.requests):
            self.transport.sendto(reply, addr)


def bulk(msg: Any, n: int) -> list[bytes]:
    start = msg.pdu.varbinds[0][0]
    after = [o for o in ORDER if oid_key(o) > oid_key(start)][: msg.pdu.max_repetitions]
    vbs: list[tuple[str, str, Any]] = [(o, *TABLE[o]) for o in after] or [(start, "endOfMibView", None)]
    if len(after) < msg.pdu.max_repetitions:
        vbs.append(("1.3.6.1.2.1.2.2.1.3.1", "INTEGER", 6))  # past the subtree
    return [encode_response(1, "public", msg.pdu.request_id, vbs)]


async def _run(
    behaviour: Behaviour, coro: Callable[[V2cTransport], Any], retries: int = 1
) -> tuple[Any, Agent]:
    loop = asyncio.get_running_loop()
    agent = Agent(behaviour)
    transport, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    engine = UdpEngine()
    try:
        t = V2cTransport(
            engine, "127.0.0.1", port, "public", timeout=0.2, retries=retries, max_repetitions=25
        )
        return await coro(t), agent
    finally:
        await engine.close()
        transport.close()


def test_walk_gets_every_row_once() -> None:
    got, agent = asyncio.run(_run(bulk, lambda t: t.walk("1.3.6.1.2.1.2.2.1.2")))
    assert [o for o, _, _ in got] == ORDER and agent.requests == 5


def test_duplicates_stale_and_garbage_are_ignored() -> None:
    def noisy(msg: Any, n: int) -> list[bytes]:
        good = bulk(msg, n)[0]
        stale = encode_response(1, "public", msg.pdu.request_id + 1, [("1.3.6.1", "INTEGER", 1)])
        return [b"\x30\x03garbage", stale, good, good]  # garbage, a wrong id, then the answer twice

    got, _ = asyncio.run(_run(noisy, lambda t: t.walk("1.3.6.1.2.1.2.2.1.2")))
    assert [o for o, _, _ in got] == ORDER


def test_retry_after_a_lost_datagram() -> None:
    got, agent = asyncio.run(
        _run(lambda m, n: [] if n == 1 else bulk(m, n), lambda t: t.walk("1.3.6.1.2.1.2.2.1.2"))
    )
    assert len(got) == 120 and agent.requests == 6


def test_timeout_after_retries() -> None:
    with pytest.raises(SnmpTimeout, match="after 3 tries"):
        asyncio.run(_run(lambda m, n: [], lambda t: t.get(["1.3.6.1.2.1.1.3.0"]), retries=2))


def test_non_increasing_oid_is_an_error() -> None:
    def loop(msg: Any, n: int) -> list[bytes]:
        return [encode_response(1, "public", msg.pdu.request_id, [(ORDER[0], "OCTET STRING", b"x")])]

    with pytest.raises(SnmpError, match="non-increasing"):
        asyncio.run(_run(loop, lambda t: t.walk("1.3.6.1.2.1.2.2.1.2")))


def test_agent_error_status() -> None:
    def err(msg: Any, n: int) -> list[bytes]:
        return [
            encode_response(1, "public", msg.pdu.request_id, msg.pdu.varbinds, error_status=5, error_index=1)
        ]

    with pytest.raises(SnmpError, match="genErr"):
        asyncio.run(_run(err, lambda t: t.get(["1.3.6.1.2.1.1.3.0"])))


def test_v3_only_refuses_community_polling() -> None:
    from ingest.snmp.factory import Engines, make_transport
    from netvigil.inventory import Credentials

    engines = Engines()
    with pytest.raises(SnmpError, match="v3_only"):
        make_transport(engines, "127.0.0.1", 161, Credentials(version="v2c", community="c"), timeout=1, retries=0,
                       v3_only=True)  # fmt: skip
    v3 = Credentials(version="v3", user="u", auth_proto="SHA", auth_key="authpass123")
    assert "V3Transport" in repr(
        make_transport(engines, "127.0.0.1", 161, v3, timeout=1, retries=0, v3_only=True)
    )
