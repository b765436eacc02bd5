"""Syslog messages per second received, parsed and acknowledged by Kafka, without loss.

Run (Kafka must be up: ``netvigil stack up``, or the test stack's settings):

    .venv/bin/python bench/bench_syslog.py [--count 250000] [--goal 50000]

What it does, all in one run on the same machine:

1. limit: a trivial Python UDP reader (``recv_into`` in a loop, no parsing)
   against the same unpaced sender: what one Python process can take off a
   socket at all. Also the parser alone (parse + encode, no I/O).
2. the receiver (``ingest.syslog.service.receiver``, in this process) fed by a
   sender process over UDP at the goal rate, then at lower rates until nothing
   is lost; ``lost`` = sent - acknowledged by Kafka (acks=all).
3. the same unpaced over UDP (how much it takes before dropping) and over TCP
   (octet counting; TCP cannot lose, so this is pure throughput).

The sender replays a mix of real formats (RFC 3164, 5424 with structured
data, Cisco, Juniper) from a few hundred source addresses' worth of
hostnames. JSON goes to stdout and bench/results/syslog.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import time
from pathlib import Path
from typing import Any

import msgspec
from udp_limit import raw_reader

from ingest.syslog.parse import parse
from ingest.syslog.service import receiver
from netvigil.kafka_admin import ensure_topics
from netvigil.settings import Settings, load_settings
from netvigil.topics import encode

RESULTS = Path(__file__).resolve().parent / "results" / "syslog.json"

TEMPLATES = [
    "<30>Nov 25 00:59:01 web{i:03d} systemd[1]: Started Session {n} of user root.",
    "<38>Nov 25 00:58:44 web{i:03d} sshd[20715]: Accepted publickey for deploy from 10.1.2.3 port {n} ssh2",
    '<165>1 2026-11-25T01:02:03.123Z app{i:03d}.example.net evntslog 42 ID47 [exampleSDID@32473 iut="3" '
    'eventSource="Application" eventID="{n}"] An application event log entry',
    "<189>{n}: *Mar  1 00:01:02.345: %LINK-3-UPDOWN: Interface GigabitEthernet0/{i}, changed state to up",
    "<28>Nov 25 00:58:13 sw{i:03d} mib2d[1789]: SNMP_TRAP_LINK_DOWN: ifIndex {n}, ifOperStatus down(2)",
]


def corpus(size: int = 5000) -> list[bytes]:
    return [TEMPLATES[n % len(TEMPLATES)].format(i=n % 300, n=n).encode() for n in range(size)]


def _udp_sender(port: int, count: int, rate: float, started: Any, ready: Any) -> None:
    """Send ``count`` datagrams at ``rate``/s (0: as fast as possible), paced per 500."""
    msgs = corpus()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    dest = ("127.0.0.1", port)
    ready.wait()
    start = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
    started.value = start
    sent = 0
    nmsgs = len(msgs)
    while sent < count:
        for _ in range(min(500, count - sent)):
            try:
                sock.sendto(msgs[sent % nmsgs], dest)
            except BlockingIOError:
                time.sleep(0.0005)
            sent += 1
        if rate:
            ahead = sent / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
    sock.close()


def _tcp_sender(port: int, count: int, started: Any, ready: Any) -> None:
    msgs = corpus()
    frames = [b"%d %s" % (len(m), m) for m in msgs]
    ready.wait()
    started.value = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sent = 0
        while sent < count:
            n = min(1000, count - sent)
            sock.sendall(b"".join(frames[(sent + k) % len(frames)] for k in range(n)))
            sent += n


def _start(target: Any, *args: Any) -> tuple[mp.Process, Any, Any]:
    ready = mp.Event()
    started = mp.Value("d", 0.0)
    proc = mp.Process(target=target, args=(*args, started, ready), daemon=True)
    proc.start()
    return proc, ready, started


def kernel_udp_drops() -> int:
    """Datagrams the kernel dropped for full receive buffers (all sockets): /proc/net/snmp."""
    lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines() if ln.startswith("Udp:")]
    return int(dict(zip(lines[0], lines[1], strict=True))["RcvbufErrors"])


def limit_raw_reader(count: int) -> dict[str, Any]:
    """A trivial Python socket reader: datagrams/s it takes off the socket, unpaced sender."""

    def start(port: int) -> tuple[Any, Any]:
        proc, ready, _ = _start(_udp_sender, port, count, 0.0)
        return proc, ready

    return raw_reader(count, start)


def limit_parser(n: int = 100_000) -> float:
    msgs = corpus()
    now = time.time()
    t = time.perf_counter()
    for k in range(n):
        encode(parse(msgs[k % len(msgs)], received=now, source="127.0.0.1"))
    return n / (time.perf_counter() - t)


async def run_receiver(settings: Settings, transport: str, count: int, rate: float) -> dict[str, Any]:
    stop = asyncio.Event()
    async with receiver(settings, stop, reload_every=3600) as rx:
        if transport == "udp":
            proc, ready, started = _start(_udp_sender, rx.udp_port, count, rate)
        else:
            proc, ready, started = _start(_tcp_sender, rx.tcp_port, count)
        st = rx.stats
        drops0 = kernel_udp_drops()
        ready.set()
        last_progress, last_seen = time.perf_counter(), -1
        done_at = last_progress
        while st.published < count:
            await asyncio.sleep(0.01)
            if st.published != last_seen:
                last_seen, last_progress = st.published, time.perf_counter()
            elif time.perf_counter() - last_progress > 3.0 and not proc.is_alive():
                break
        done_at = last_progress  # when the last acknowledgement was seen
        secs = done_at - started.value
        proc.join()
        snap = st.snapshot()
    return {
        "transport": transport,
        "target_rate": rate or None,
        "sent": count,
        "received": sum(snap["received"].values()),  # type: ignore[union-attr]
        "published": snap["published"],
        "lost": count - int(snap["published"]),  # type: ignore[call-overload]
        "errors": snap["errors"],
        "kernel_rcvbuf_drops": kernel_udp_drops() - drops0,
        "seconds": round(secs, 3),
        "rate": round(int(snap["published"]) / secs),  # type: ignore[call-overload]
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    c = msgspec.structs.replace(settings.collector, syslog_udp_port=0, syslog_tcp_port=0, metrics_port=0)
    settings = msgspec.structs.replace(settings, collector=c)
    ensure_topics(settings)
    raw = limit_raw_reader(args.count)
    parser_rate = limit_parser()
    # Up from the goal while nothing is lost, or down from it until nothing is.
    paced: list[dict[str, Any]] = []
    first = await run_receiver(settings, "udp", args.count, args.goal)
    paced.append(first)
    ladder = (1.2, 1.4, 1.7, 2.0) if first["lost"] == 0 else (0.8, 0.6, 0.4)
    for factor in ladder:
        r = await run_receiver(settings, "udp", args.count, args.goal * factor)
        paced.append(r)
        if (r["lost"] == 0) != (first["lost"] == 0):
            break
    clean = [r for r in paced if r["lost"] == 0]
    best = max(clean, key=lambda r: r["rate"]) if clean else None
    unpaced = await run_receiver(settings, "udp", args.count, 0.0)
    tcp = await run_receiver(settings, "tcp", args.count, 0.0)
    value = best["rate"] if best else 0
    return {
        "name": "syslog_messages_per_second",
        "value": value,
        "unit": "messages/s (UDP, parsed and acknowledged by Kafka, none lost)",
        "goal": args.goal,
        "limit": raw["rate"],
        "limit_what": "trivial Python UDP reader (recv_into loop, no parsing), same sender, same run",
        "ratio": round(value / raw["rate"], 3) if raw["rate"] else None,
        "lost": best["lost"] if best else paced[-1]["lost"],
        "parser_only_rate": round(parser_rate),
        "raw_reader": raw,
        "udp_paced": paced,
        "udp_unpaced": unpaced,
        "tcp_unpaced": tcp,
        "tcp_rate": tcp["rate"],
        "tcp_lost": tcp["lost"],
        "cpus": len(os.sched_getaffinity(0)),
        "loadavg_at_end": os.getloadavg(),  # other work on the machine skews every figure here
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=250_000, help="messages per run")
    ap.add_argument("--goal", type=float, default=50_000.0, help="target messages/s")
    args = ap.parse_args()
    result = asyncio.run(main_async(args))
    text = json.dumps(result, indent=1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
