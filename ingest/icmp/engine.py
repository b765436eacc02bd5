"""Echo requests to thousands of targets from one socket, matched as replies arrive.

Why not one socket per target (icmplib's multiping): every raw ICMP socket
gets a copy of every ICMP packet the host receives, so N concurrent sockets
cost N times the receive work, and concurrency (and so targets per cycle) is
capped by it. One socket, requests identified by (address, sequence), a
reader callback on the event loop, and sends paced in batches so the receive
buffer drains: 10,000 targets x 3 probes fit in well under a second of a
10-second cycle.

Raw sockets need root (CAP_NET_RAW); without it the engine falls back to
Linux datagram ping sockets, which need ``net.ipv4.ping_group_range`` to
include the process's group. When neither opens, every target gets the error
(a result, not an exception).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.icmp.packet import echo_request, parse_reply

__all__ = ["IcmpEngine", "Outcome"]

log = logging.getLogger(__name__)
SOL_RAW = 255
ICMP_FILTER = 1
_ONLY_ECHO_REPLY = 0xFFFFFFFE  # bit n set = drop ICMP type n: keep type 0 only
SEND_BATCH = 500


@dataclass(slots=True)
class Outcome:
    """One target's probes: ``rtts`` (ms) of the replies in send order."""

    sent: int = 0
    rtts: list[float] = field(default_factory=list)
    error: str | None = None


_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_ANC_SIZE = socket.CMSG_SPACE(16)


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The kernel's receive time (SO_TIMESTAMPNS): RTTs do not include event-loop delay."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack_from("@qq", data)
            return float(sec + nsec / 1e9)
    return time.time()


def _open(rcvbuf: int) -> tuple[socket.socket, bool]:
    """(socket, has_ip_header): a raw socket when allowed, else a datagram ping socket."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        raw = True
        with contextlib.suppress(OSError):
            sock.setsockopt(SOL_RAW, ICMP_FILTER, _ONLY_ECHO_REPLY.to_bytes(4, "little"))
    except PermissionError:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        raw = False
    try:
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), rcvbuf)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, _TIMESTAMPNS, 1)
    sock.setblocking(False)
    return sock, raw


class IcmpEngine:
    """``async with IcmpEngine() as eng: outcomes = await eng.probe(addresses, 3, 0.2, 1.0)``."""

    def __init__(self, *, rcvbuf: int = 64 << 20) -> None:
        self._rcvbuf = rcvbuf
        self._sock: socket.socket | None = None
        self._raw = False
        self.error: str | None = None
        self._ident = secrets.randbelow(0x10000)
        self._seq = secrets.randbelow(0x10000)
        self._pending: dict[tuple[str, int], tuple[Outcome, float]] = {}
        self._timeout = 1.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drained = asyncio.Event()

    async def __aenter__(self) -> IcmpEngine:
        self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        try:
            self._sock, self._raw = _open(self._rcvbuf)
        except OSError as exc:
            self.error = f"cannot open an ICMP socket (needs root or net.ipv4.ping_group_range): {exc}"
            log.error("%s", self.error)
            return
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._on_readable)

    def close(self) -> None:
        if self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
        self._sock = None

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        pending = self._pending
        while True:
            try:
                data, anc, _, addr = sock.recvmsg(2048, _ANC_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("ICMP receive error: %s", exc)
                return
            parsed = parse_reply(data, has_ip_header=self._raw)
            if parsed is None or (self._raw and parsed[0] != self._ident):
                continue
            entry = pending.pop((addr[0], parsed[1]), None)
            if entry is not None:
                outcome, sent_at = entry
                rtt = _kernel_time(anc) - sent_at
                if 0 <= rtt <= self._timeout:
                    outcome.rtts.append(rtt * 1000.0)
                if not pending:
                    self._drained.set()

    async def probe(
        self, addresses: Sequence[str], count: int, interval: float, reply_timeout: float
    ) -> dict[str, Outcome]:
        """Send ``count`` echo requests ``interval`` s apart to each address; wait ``reply_timeout`` s for replies."""
        outcomes = {a: Outcome() for a in dict.fromkeys(addresses)}
        if self._sock is None:
            for o in outcomes.values():
                o.error = self.error or "ICMP socket not open"
            return outcomes
        targets: list[tuple[str, Outcome]] = []
        for address, outcome in outcomes.items():
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                outcome.error = f"not an IP address: {address!r}"
                continue
            if ip.version != 4:
                outcome.error = "IPv6 targets are not supported yet"
                continue
            targets.append((address, outcome))
        self._timeout = reply_timeout
        base = self._seq
        self._seq = (self._seq + count) & 0xFFFF
        start = time.time()
        last_send = start
        for k in range(count):
            delay = start + k * interval - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            last_send = await self._send_round(targets, (base + k) & 0xFFFF)
        await self._wait_replies(last_send + reply_timeout)
        for address, _ in targets:  # what did not answer in time is lost
            for k in range(count):
                self._pending.pop((address, (base + k) & 0xFFFF), None)
        return outcomes

    async def _send_round(self, targets: list[tuple[str, Outcome]], seq: int) -> float:
        sock = self._sock
        assert sock is not None  # probe() checked it
        packet = echo_request(self._ident, seq)
        pending = self._pending
        for i, (address, outcome) in enumerate(targets):
            if outcome.error is not None:
                continue
            if i and i % SEND_BATCH == 0:
                await asyncio.sleep(0)  # let the reader drain replies
            for _attempt in range(100):
                try:
                    pending[(address, seq)] = (outcome, time.time())
                    sock.sendto(packet, (address, 0))
                    outcome.sent += 1
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.001)
                except OSError as exc:
                    pending.pop((address, seq), None)
                    outcome.error = f"send failed: {os.strerror(exc.errno) if exc.errno else exc}"
                    break
            else:
                pending.pop((address, seq), None)
                outcome.error = "send failed: socket buffer full"
        return time.time()

    async def _wait_replies(self, deadline: float) -> None:
        if not self._pending:
            return
        self._drained.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), max(0.0, deadline - time.time()))
