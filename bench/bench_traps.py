"""SNMP traps per second received, decoded, published and acknowledged by Kafka, without loss.

Run (Kafka must be up: ``netvigil stack up``, or the test stack's settings in
the environment, e.g. ``NETVIGIL_KAFKA__BOOTSTRAP=127.0.0.1:29092``):

    .venv/bin/python bench/bench_traps.py [--count 50000] [--goal 5000]

What it does, all in one run on the same machine:

1. limit: a trivial Python UDP reader (``recv_into`` loop, no decoding)
   against the same unpaced sender of the same datagrams: what one Python
   process can take off a socket at all. Also the decode path alone
   (BER decode + record + JSON encode, no I/O).
2. the trap receiver (``ingest.traps.service.TrapService``, in this process,
   on topics of its own prefix) fed by a sender process with pre-encoded
   SNMPv2c linkDown traps (BER codec) at the goal rate, then at higher rates;
   ``lost`` = sent - records in Kafka (end offsets of the run's own topic,
   acks=all).
3. the same unpaced: how much it takes before the kernel drops.

JSON goes to stdout and bench/results/traps.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from udp_limit import raw_reader  # noqa: E402

from ingest.snmp.ber import Message, Pdu, decode_message, encode_message  # noqa: E402
from ingest.traps.convert import build_trap  # noqa: E402
from ingest.traps.oids import OidNames  # noqa: E402
from ingest.traps.service import TrapService  # noqa: E402
from netvigil.kafka_admin import ensure_topics  # noqa: E402
from netvigil.settings import Settings, load_settings  # noqa: E402
from netvigil.topics import encode  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "traps.json"


def corpus(size: int = 1000) -> list[bytes]:
    """linkDown traps as routers send them: uptime, trap OID, ifIndex/admin/oper/descr."""
    out = []
    for n in range(size):
        vbs = [
            ("1.3.6.1.2.1.1.3.0", "TimeTicks", 100_000 + n),
            ("1.3.6.1.6.3.1.1.4.1.0", "OID", "1.3.6.1.6.3.1.1.5.3"),
            (f"1.3.6.1.2.1.2.2.1.1.{n % 48 + 1}", "INTEGER", n % 48 + 1),
            (f"1.3.6.1.2.1.2.2.1.7.{n % 48 + 1}", "INTEGER", 1),
            (f"1.3.6.1.2.1.2.2.1.8.{n % 48 + 1}", "INTEGER", 2),
            (f"1.3.6.1.2.1.2.2.1.2.{n % 48 + 1}", "OCTET STRING", f"GigabitEthernet0/{n % 48 + 1}".encode()),
        ]
        out.append(encode_message(Message(1, b"public", Pdu("SNMPv2-Trap", n, 0, 0, vbs))))
    return out


def _sender(port: int, count: int, rate: float, started: Any, ready: Any) -> None:
    """Send ``count`` traps at ``rate``/s (0: as fast as possible), paced per 100."""
    msgs = corpus()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    dest = ("127.0.0.1", port)
    ready.wait()
    start = time.perf_counter()
    started.value = start
    sent = 0
    while sent < count:
        for _ in range(min(100, count - sent)):
            while True:
                try:
                    sock.sendto(msgs[sent % len(msgs)], dest)
                    break
                except BlockingIOError:
                    time.sleep(0.0005)
            sent += 1
        if rate:
            ahead = sent / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
    sock.close()


def _start(port: int, count: int, rate: float) -> tuple[mp.Process, Any, Any]:
    ready = mp.Event()
    started = mp.Value("d", 0.0)
    proc = mp.Process(target=_sender, args=(port, count, rate, started, ready), daemon=True)
    proc.start()
    return proc, ready, started


def kernel_udp_drops() -> int:
    """Datagrams dropped for full receive buffers, all sockets of the host (/proc/net/snmp)."""
    lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines() if ln.startswith("Udp:")]
    return int(dict(zip(lines[0], lines[1], strict=True))["RcvbufErrors"])


def limit_raw_reader(count: int) -> dict[str, Any]:
    def start(port: int) -> tuple[Any, Any]:
        proc, ready, _ = _start(port, count, 0.0)
        return proc, ready

    return raw_reader(count, start)


def decode_only(n: int = 50_000) -> int:
    """Traps/s through decode + v2 record + JSON, no sockets (the CPU cost per trap)."""
    msgs = corpus()
    names = OidNames()
    t = time.perf_counter()
    for i in range(n):
        msg = decode_message(msgs[i % len(msgs)])
        encode(build_trap(msg.pdu.varbinds, names=names, source="127.0.0.1:5000", version="v2c"))
    return round(n / (time.perf_counter() - t))


async def kafka_count(settings: Settings, partitions: int) -> int:
    topic = settings.topic("trap")
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(parts)
        begins = await consumer.beginning_offsets(parts)
        return sum(ends[p] - begins[p] for p in parts)
    finally:
        await consumer.stop()


async def run_receiver(base: Settings, count: int, rate: float) -> dict[str, Any]:
    """One run on fresh topics: send ``count`` at ``rate``, count what Kafka holds."""
    prefix = f"bench.traps{uuid.uuid4().hex[:8]}."
    settings = msgspec.structs.replace(base, kafka=msgspec.structs.replace(base.kafka, topic_prefix=prefix))
    specs = {settings.topic(t): n for t, n in [("trap", 3), ("deadletter", 1)]}
    await asyncio.to_thread(ensure_topics, settings, specs)
    svc = TrapService(settings, port=0)
    stop = asyncio.Event()
    task = asyncio.create_task(svc.run(stop))
    await asyncio.wait_for(svc.started.wait(), 60)
    drops0 = kernel_udp_drops()
    proc, ready, started = _start(svc.port, count, rate)
    ready.set()
    loop = asyncio.get_running_loop()
    last_change, last = loop.time(), -1
    while svc.stats.counts["published"] + svc.stats.counts["malformed"] < count:
        await asyncio.sleep(0.05)
        now = svc.stats.counts["received"]
        if now != last:
            last_change, last = loop.time(), now
        elif loop.time() - last_change > 3.0 and not proc.is_alive():
            break  # nothing more is coming: the rest was lost
    done = time.perf_counter()
    proc.join()
    stop.set()
    await task  # flushes the producer: what is published is acknowledged
    in_kafka = await kafka_count(settings, specs[settings.topic("trap")])
    secs = done - started.value
    return {
        "target_rate": rate or "unpaced",
        "sent": count,
        "received": svc.stats.counts["received"],
        "in_kafka": in_kafka,
        "lost": count - in_kafka,
        "dropped_in_receiver": svc.stats.counts["dropped"],
        "kernel_rcvbuf_drops": kernel_udp_drops() - drops0,
        "seconds": round(secs, 3),
        "rate": round(in_kafka / secs),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    base = load_settings()
    limit = limit_raw_reader(args.count)
    cpu = decode_only()
    paced = []
    for rate in (args.goal, args.goal * 2, args.goal * 4):
        paced.append(await run_receiver(base, int(min(args.count, rate * args.seconds)), rate))
    unpaced = await run_receiver(base, args.count, 0.0)
    lossless = [r["rate"] for r in paced if r["lost"] == 0]
    value = max(lossless) if lossless else 0
    return {
        "name": "traps_per_second",
        "value": value,
        "unit": "SNMPv2c traps/s (decoded, published, acknowledged by Kafka; none lost)",
        "goal": float(args.goal),
        "limit": limit["rate"],
        "limit_what": "trivial Python UDP reader (recv_into loop, no decoding), same sender, same run",
        "ratio": round(value / limit["rate"], 3) if limit["rate"] else None,
        "decode_only_rate": cpu,
        "raw_reader": limit,
        "paced": paced,
        "unpaced": unpaced,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="traps per run (max)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each paced run")
    parser.add_argument("--goal", type=float, default=5000.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("netvigil.inventory").setLevel(logging.ERROR)  # other tests' odd devices
    result = asyncio.run(main_async(args))
    text = json.dumps(result, indent=1)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
