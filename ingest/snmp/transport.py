"""SNMP transports behind one small interface: ``get(oids)`` and ``walk(oid)``.

* :class:`UdpEngine` + :class:`V2cTransport`: our own asyncio UDP engine for
  v1/v2c on :mod:`ingest.snmp.ber`. One socket per process serves every
  device; responses are matched by request-id (and sender), so a slow or dead
  device only ever costs its own timeouts. Walks use GETBULK (GETNEXT for v1).
* :class:`V3Transport`: pysnmp 7's asyncio HLAPI for SNMPv3 (USM auth/priv,
  engine discovery), with ``lookupMib=False``.
* :class:`FakeTransport`: a dict of OIDs for unit tests (as snmp_exporter does).

Every transport returns varbinds as ``(oid, type_name, value)`` with the
types of :mod:`ingest.snmp.ber`, without exception values, de-duplicated by
OID, and raises :class:`SnmpTimeout` (no answer) or :class:`SnmpError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ingest.snmp.ber import (
    EXCEPTION_TYPES,
    BerError,
    VarBind,
    decode_message,
    encode_get,
    encode_getbulk,
    encode_getnext,
)

__all__ = [
    "FakeTransport",
    "SnmpError",
    "SnmpTimeout",
    "Transport",
    "UdpEngine",
    "V2cTransport",
    "oid_key",
]

log = logging.getLogger(__name__)


class SnmpError(Exception):
    """The agent answered with an error, or the exchange made no sense."""


class SnmpTimeout(SnmpError):
    """No answer after every retry."""


class _NoSuchName(SnmpError):
    """v1's whole-PDU "no such name" error."""


class Transport(Protocol):
    async def get(self, oids: Sequence[str]) -> list[VarBind]: ...

    async def walk(self, oid: str) -> list[VarBind]: ...

    async def close(self) -> None: ...


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split("."))


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, engine: UdpEngine) -> None:
        self.engine = engine

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.engine.received(data, addr)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable and the like
        self.engine.stats["socket_errors"] += 1


class UdpEngine:
    """One UDP socket, many outstanding requests, matched by request-id."""

    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, tuple[asyncio.Future[Any], tuple[str, int]]] = {}
        self._ids = itertools.count(random.randrange(1, 1 << 30))  # noqa: S311 - not security
        self.stats = {"sent": 0, "received": 0, "malformed": 0, "unmatched": 0, "socket_errors": 0}

    async def start(self) -> None:
        if self._transport is None:
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self),
                local_addr=("0.0.0.0", 0),  # noqa: S104 - ephemeral client port
            )

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for fut, _ in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()

    def next_id(self) -> int:
        rid = next(self._ids) & 0x7FFFFFFF
        return rid or next(self._ids) & 0x7FFFFFFF

    def received(self, data: bytes, addr: tuple[Any, int]) -> None:
        self.stats["received"] += 1
        try:
            msg = decode_message(data)
        except BerError as exc:
            self.stats["malformed"] += 1
            log.debug("malformed SNMP datagram from %s: %s", addr[0], exc)
            return
        entry = self._pending.get(msg.pdu.request_id)
        if entry is None or entry[1] != (addr[0], addr[1]) or msg.pdu.type != "Response":
            self.stats["unmatched"] += 1
            return
        if not entry[0].done():
            entry[0].set_result(msg)

    async def request(
        self, addr: tuple[str, int], rid: int, payload: bytes, wait: float, retries: int
    ) -> Any:
        """Send ``payload`` and wait for the Response with ``rid``; resend on timeout."""
        await self.start()
        assert self._transport is not None
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (fut, addr)
        try:
            for _ in range(retries + 1):
                self._transport.sendto(payload, addr)
                self.stats["sent"] += 1
                try:
                    return await asyncio.wait_for(asyncio.shield(fut), wait)
                except TimeoutError:
                    continue
            raise SnmpTimeout(f"no answer from {addr[0]}:{addr[1]} after {retries + 1} tries of {wait:g}s")
        finally:
            self._pending.pop(rid, None)
            if not fut.done():
                fut.cancel()


_V1_ERRORS = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr"}


class V2cTransport:
    """v1 (``version=0``) or v2c (``version=1``) through a shared :class:`UdpEngine`."""

    def __init__(
        self,
        engine: UdpEngine,
        host: str,
        port: int,
        community: str,
        *,
        version: int = 1,
        timeout: float = 2.0,
        retries: int = 1,
        max_repetitions: int = 50,
    ) -> None:
        self.engine, self.addr, self.version = engine, (host, port), version
        self._community = community.encode()
        self.timeout, self.retries, self.max_repetitions = timeout, retries, max_repetitions

    def __repr__(self) -> str:
        return f"V2cTransport({self.addr[0]}:{self.addr[1]}, v{'1' if self.version == 0 else '2c'})"

    async def _ask(self, kind: str, oids: list[str]) -> list[VarBind]:
        rid = self.engine.next_id()
        if kind == "bulk":
            payload = encode_getbulk(self._community, rid, oids, 0, self.max_repetitions)
        elif kind == "next":
            payload = encode_getnext(self.version, self._community, rid, oids)
        else:
            payload = encode_get(self.version, self._community, rid, oids)
        msg = await self.engine.request(self.addr, rid, payload, self.timeout, self.retries)
        if msg.pdu.error_status:
            status = msg.pdu.error_status
            if (
                self.version == 0 and status == 2
            ):  # v1 noSuchName: end of the MIB (next) or no such object (get)
                if kind == "next":
                    return []
                raise _NoSuchName(f"noSuchName at index {msg.pdu.error_index}")
            raise SnmpError(f"agent error {_V1_ERRORS.get(status, status)} at index {msg.pdu.error_index}")
        varbinds: list[VarBind] = msg.pdu.varbinds
        return varbinds

    async def get(self, oids: Sequence[str]) -> list[VarBind]:
        out: list[VarBind] = []
        oids = list(oids)
        for i in range(0, len(oids), 30):  # keep each request well under tooBig
            chunk = oids[i : i + 30]
            if self.version == 0:  # v1 fails the whole PDU on one missing OID: ask one by one then
                try:
                    out.extend(await self._ask("get", chunk))
                except _NoSuchName:
                    for oid in chunk:
                        with contextlib.suppress(_NoSuchName):
                            out.extend(await self._ask("get", [oid]))
            else:
                out.extend(await self._ask("get", chunk))
        return [vb for vb in out if vb[1] not in EXCEPTION_TYPES]

    async def walk(self, oid: str) -> list[VarBind]:
        prefix = oid + "."
        out: list[VarBind] = []
        seen: set[str] = set()
        current, last_key = oid, oid_key(oid)
        while True:
            batch = await self._ask("bulk" if self.version else "next", [current])
            if not batch:
                return out
            for vb in batch:
                if vb[1] == "endOfMibView" or not vb[0].startswith(prefix):
                    return out
                if vb[0] in seen:
                    continue
                seen.add(vb[0])
                if vb[1] not in EXCEPTION_TYPES:
                    out.append(vb)
            current = batch[-1][0]
            key = oid_key(current)
            if key <= last_key:
                raise SnmpError(f"agent returned a non-increasing OID {current} while walking {oid}")
            last_key = key

    async def close(self) -> None:
        """The engine is shared; nothing per device to close."""


class FakeTransport:
    """An agent in a dict, for unit tests. ``unreachable`` simulates a dead device."""

    def __init__(self, values: dict[str, tuple[str, Any]], *, unreachable: bool = False,
                 failing_walks: Iterable[str] = ()) -> None:  # fmt: skip
        self.values = dict(sorted(values.items(), key=lambda kv: oid_key(kv[0])))
        self.unreachable = unreachable
        self.failing_walks = set(failing_walks)
        self.requests = 0

    async def get(self, oids: Sequence[str]) -> list[VarBind]:
        self.requests += 1
        if self.unreachable:
            raise SnmpTimeout("no answer (fake)")
        return [(o, *self.values[o]) for o in oids if o in self.values]

    async def walk(self, oid: str) -> list[VarBind]:
        self.requests += 1
        if self.unreachable:
            raise SnmpTimeout("no answer (fake)")
        if oid in self.failing_walks:
            raise SnmpError("agent error genErr at index 1")
        return [(o, *tv) for o, tv in self.values.items() if o.startswith(oid + ".")]

    async def close(self) -> None:
        return None
