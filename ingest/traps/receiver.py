"""The UDP trap receiver: one socket, v1/v2c decoded here, v3 handed to pysnmp.

``datagram_received`` runs on the event loop for every datagram, so it does
only CPU work (decode, check, build the record) and queues the outcome; one
publishing task drains the queue to Kafka. Informs are acknowledged only once
Kafka has the record (at-least-once: a lost acknowledgement makes the sender
retry, a lost record is never acknowledged). Every datagram ends in exactly
one counted outcome; nothing raises out of here.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from ingest.snmp.ber import BerError, decode_message, encode_response, peek_version
from ingest.traps.auth import TrapAuth
from ingest.traps.convert import RawVarBind, Version, build_trap, v1_to_v2
from ingest.traps.metrics import TrapStats
from ingest.traps.oids import OidNames
from ingest.traps.v3 import Notification, V3Bridge
from netvigil.inventory import AddressIndex
from netvigil.records import Trap

__all__ = ["DeadLetterItem", "Outbound", "TrapItem", "TrapReceiver", "open_socket"]

log = logging.getLogger(__name__)
ORIGIN = "traps"
_VERSIONS: dict[int, Version] = {0: "v1", 1: "v2c", 3: "v3"}


@dataclass(slots=True)
class TrapItem:
    trap: Trap
    ack: Callable[[], None] | None = None  # send the inform's Response, after publishing


@dataclass(slots=True)
class DeadLetterItem:
    reason: str
    payload: bytes
    source: str


Outbound = TrapItem | DeadLetterItem


def open_socket(host: str, port: int, rcvbuf: int = 8 << 20) -> socket.socket:
    """A bound UDP socket with a receive buffer big enough for bursts.

    SO_RCVBUFFORCE (root) lifts the sysctl cap; otherwise SO_RCVBUF gets what
    net.core.rmem_max allows.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    try:
        if force is None:
            raise PermissionError
        sock.setsockopt(socket.SOL_SOCKET, force, rcvbuf)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


class TrapReceiver(asyncio.DatagramProtocol):
    def __init__(
        self,
        *,
        names: OidNames,
        auth: TrapAuth,
        index: AddressIndex,
        stats: TrapStats,
        queue: asyncio.Queue[Outbound],
        v3: V3Bridge | None = None,
    ) -> None:
        self.names = names
        self.auth = auth
        self.index = index
        self.stats = stats
        self.queue = queue
        self.v3 = v3
        self.transport: asyncio.DatagramTransport | None = None
        self._warned: set[str] = set()
        self._v3_data = b""  # the datagram the bridge is processing (for dead letters)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A datagram endpoint's transport (CPython's class does not subclass DatagramTransport).
        self.transport = cast(asyncio.DatagramTransport, transport)
        if self.v3 is not None:
            self.v3.attach(self.transport)

    def error_received(self, exc: Exception) -> None:
        log.warning("trap socket error: %s", exc)

    # -- helpers ------------------------------------------------------------
    def _put(self, item: Outbound) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.stats.dropped("queue_full")
            if "queue_full" not in self._warned:
                self._warned.add("queue_full")
                log.error("trap publish queue full: dropping (counted in netvigil_traps_dropped)")

    def _malformed(self, reason: str, data: bytes, source: str) -> None:
        self.stats.malformed()
        self._put(DeadLetterItem(reason, bytes(data), source))

    def _refuse(self, version: str, reason: str, source: str) -> None:
        self.stats.refused(version, reason)
        log.info("refused %s notification from %s: %s", version, source, reason)

    # -- the hot path -------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        source = f"{addr[0]}:{addr[1]}"
        try:
            wire = peek_version(data)
        except BerError as exc:
            self.stats.received("unknown")
            self._malformed(str(exc), data, source)
            return
        version = _VERSIONS.get(wire)
        if version is None:
            self.stats.received("unknown")
            self._malformed(f"unsupported SNMP version {wire}", data, source)
            return
        self.stats.received(version)
        if version == "v3":
            self._v3(data, addr, source)
            return
        if self.auth.v3_only:
            self._refuse(version, "v3_only", source)
            return
        try:
            msg = decode_message(data)
        except BerError as exc:
            self._malformed(str(exc), data, source)
            return
        if not self.auth.community_ok(msg.community):
            self._refuse(version, "community", source)
            return
        pdu = msg.pdu
        varbinds: list[RawVarBind]
        ack: Callable[[], None] | None = None
        if pdu.type == "Trap" and version == "v1":
            varbinds = v1_to_v2(pdu)
        elif pdu.type == "SNMPv2-Trap" and version == "v2c":
            varbinds = pdu.varbinds
        elif pdu.type == "InformRequest" and version == "v2c":
            varbinds = pdu.varbinds
            response = encode_response(msg.version, msg.community, pdu.request_id, pdu.varbinds)
            ack = self._sender(response, addr)
        else:
            self._malformed(f"{pdu.type} PDU in {version} is not a notification", data, source)
            return
        self._publish(varbinds, data, source, version, None, ack)

    def _sender(self, response: bytes, addr: tuple[str, int]) -> Callable[[], None]:
        def send() -> None:
            if self.transport is not None:
                self.transport.sendto(response, addr)

        return send

    def _publish(
        self,
        varbinds: list[RawVarBind],
        data: bytes,
        source: str,
        version: Version,
        security_name: str | None,
        ack: Callable[[], None] | None,
    ) -> None:
        try:
            trap = build_trap(
                varbinds,
                names=self.names,
                source=source,
                version=version,
                device=self.index.match(source.rsplit(":", 1)[0]),
                security_name=security_name,
                inform=ack is not None,
            )
        except ValueError as exc:
            self._malformed(str(exc), data, source)
            return
        self._put(TrapItem(trap, ack))

    def _v3(self, data: bytes, addr: tuple[str, int], source: str) -> None:
        if self.v3 is None:
            self._refuse("v3", "no_v3_users", source)
            return
        self._v3_data = data
        outcome = self.v3.process(data, addr)
        if outcome is None:
            return  # published through _on_v3
        if outcome == "malformed":
            self._malformed("v3 message pysnmp could not parse", data, source)
        elif outcome.startswith("protocol:"):
            self.stats.v3_protocol(outcome.split(":", 1)[1])
        else:
            self._refuse("v3", outcome.split(":", 1)[1], source)

    def on_v3(self, note: Notification) -> None:
        """Called by the bridge, synchronously inside ``process``."""
        varbinds, source, security_name, respond = note
        self._publish(varbinds, self._v3_data, source, "v3", security_name, respond)
