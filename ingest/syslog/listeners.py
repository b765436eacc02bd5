"""UDP and TCP listeners: thin asyncio protocols that hand bytes to the pipeline.

UDP asks the kernel for a large receive buffer (``SO_RCVBUFFORCE`` as root,
else ``SO_RCVBUF`` up to ``net.core.rmem_max``) so bursts wait in the kernel
rather than being dropped there, where no counter of ours could see them.
"""

from __future__ import annotations

import asyncio
import logging
import socket

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


class UdpSyslog:
    """Reads a UDP socket straight from the event loop's selector, many datagrams per wake-up.

    asyncio's datagram transport costs a selector round and several calls per
    datagram; draining up to ``burst`` datagrams per readiness event roughly
    halves the per-message overhead at high rates, while a burst bound keeps
    the flusher and TCP connections served.
    """

    def __init__(self, sock: socket.socket, pipeline: Pipeline, burst: int = 512) -> None:
        self.sock = sock
        self.pipeline = pipeline
        self.burst = burst
        self.port: int = sock.getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self._ready)

    def _ready(self) -> None:
        self._read_burst()

    def _read_burst(self) -> bool:
        """Read up to ``burst`` datagrams; True when the burst ran out before the socket did."""
        recvfrom = self.sock.recvfrom
        submit = self.pipeline.submit
        for _ in range(self.burst):
            try:
                data, addr = recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as exc:  # e.g. ICMP errors reported on the socket
                self.pipeline.stats.errors["udp_socket"] += 1
                log.warning("syslog UDP socket error: %s", exc)
                return False
            submit(data, addr[0], "udp")
        return True

    def close(self) -> None:
        if self._loop is not None:
            while self._read_burst():  # what the kernel already holds is handed over, not dropped
                pass
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


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
