"""UDP and TCP listeners: thin asyncio protocols that hand bytes to the pipeline.

UDP asks the kernel for a large receive buffer (``SO_RCVBUFFORCE`` as root,
else ``SO_RCVBUF`` up to ``net.core.rmem_max``) so bursts wait in the kernel
rather than being dropped there, where no counter of ours could see them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from ingest.syslog.framing import Framer
from ingest.syslog.parse import MAX_MESSAGE
from ingest.syslog.pipeline import Pipeline

__all__ = ["TcpSyslog", "UdpSyslog", "open_udp_socket"]

log = logging.getLogger(__name__)

UDP_RCVBUF = 32 << 20


def open_udp_socket(host: str, port: int, rcvbuf: int = UDP_RCVBUF) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, rcvbuf)
            break
        except OSError:
            continue
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


class UdpSyslog(asyncio.DatagramProtocol):
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.pipeline.submit(data, addr[0], "udp")

    def error_received(self, exc: Exception) -> None:
        self.pipeline.stats.errors["udp_socket"] += 1
        log.warning("syslog UDP socket error: %s", exc)


class TcpSyslog(asyncio.Protocol):
    """One connection: frames per RFC 6587, backpressure when the pipeline is full."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.framer = Framer(MAX_MESSAGE)
        self.source = "unknown"
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.source = str(peer[0]) if peer else "unknown"
        self.pipeline.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        submit = self.pipeline.submit
        for frame in self.framer.feed(data):
            submit(frame, self.source, "tcp")
        if self.transport is not None:
            self.pipeline.pause_when_full(self.transport, self.transport.pause_reading)

    def eof_received(self) -> bool | None:
        for frame in self.framer.close():
            self.pipeline.submit(frame, self.source, "tcp")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        for frame in self.framer.close():
            self.pipeline.submit(frame, self.source, "tcp")
        self.pipeline.stats.connections -= 1
        if self.transport is not None:
            self.pipeline.forget(self.transport)
        if exc is not None:
            self.pipeline.stats.errors["tcp_connection"] += 1
            log.info("syslog TCP connection from %s lost: %s", self.source, exc)
