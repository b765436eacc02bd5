"""The `limit` of the UDP receiver benchmarks: what a trivial Python socket reader takes.

Shared by bench_traps.py and bench_syslog.py so both measure their receiver
against the same reference, in the same run.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

SO_RCVBUFFORCE = 33  # Linux; as root it may exceed rmem_max, as the receivers do


def raw_reader(count: int, start_sender: Callable[[int], tuple[Any, Any]]) -> dict[str, Any]:
    """Datagrams/s read off a socket while ``start_sender(port)`` sends ``count`` unpaced.

    ``start_sender`` returns ``(process, ready_event)``; the reader sets ``ready``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(1.0)
    buf = bytearray(65536)
    proc, ready = start_sender(sock.getsockname()[1])
    ready.set()
    got = 0
    first = last = 0.0
    while got < count:
        try:
            sock.recv_into(buf)
        except TimeoutError:
            break
        last = time.perf_counter()
        if not got:
            first = last
        got += 1
    proc.join()
    sock.close()
    return {"received": got, "lost": count - got, "rate": round(got / max(last - first, 1e-9))}
