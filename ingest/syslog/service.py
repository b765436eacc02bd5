"""`netvigil collect syslog`: the syslog receiver as a long-running service.

Listens on ``collector.bind`` at ``syslog_udp_port`` (UDP) and
``syslog_tcp_port`` (TCP), both 1514 by default so no root is needed; in
production point them at 514 (or redirect 514 to 1514 with the firewall).
Messages go to the ``syslog`` topic keyed by the sender's address (one
sender's lines stay in order on one partition). RFC 3164 stamps carry no
zone and are read as UTC.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ingest.syslog.devices import DeviceMatcher, refresh, reload_forever
from ingest.syslog.listeners import TcpSyslog, UdpSyslog, open_udp_socket
from ingest.syslog.pipeline import Pipeline
from ingest.syslog.stats import SyslogStats, register, unregister
from netvigil.bus import Publisher
from netvigil.settings import Settings

__all__ = ["Receiver", "receiver", "run"]

log = logging.getLogger(__name__)


@dataclass
class Receiver:
    """What a running receiver exposes to tests and the benchmark."""

    stats: SyslogStats
    pipeline: Pipeline
    matcher: DeviceMatcher
    udp_port: int
    tcp_port: int


@contextlib.asynccontextmanager
async def receiver(
    settings: Settings, stop: asyncio.Event, *, reload_every: float = 60.0
) -> AsyncIterator[Receiver]:
    """Start listeners, flusher and inventory reloads; on exit stop them and drain to Kafka."""
    from ingest.metrics_http import ensure_metrics_server

    c = settings.collector
    ensure_metrics_server(settings)
    stats = SyslogStats()
    register(stats)
    matcher = DeviceMatcher()
    await refresh(settings, matcher)  # before listening, so the first messages are matched too
    loop = asyncio.get_running_loop()
    pipeline = Pipeline(None, matcher, stats)
    udp = UdpSyslog(open_udp_socket(c.bind, c.syslog_udp_port), pipeline)
    udp.start()
    server = await loop.create_server(
        lambda: TcpSyslog(pipeline), c.bind, c.syslog_tcp_port, reuse_address=True, backlog=1024
    )
    tcp_port = server.sockets[0].getsockname()[1]
    log.info("syslog listening on %s udp/%d tcp/%d", c.bind, udp.port, tcp_port)
    flusher_stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_connect(settings, pipeline, stop), name="syslog-kafka"),
        asyncio.create_task(pipeline.run(flusher_stop), name="syslog-flush"),
        asyncio.create_task(reload_forever(settings, matcher, stop, reload_every), name="syslog-inv"),
    ]
    try:
        yield Receiver(stats, pipeline, matcher, udp.port, tcp_port)
    finally:
        stop.set()
        udp.close()  # hands over what the kernel still holds
        server.close()
        await asyncio.sleep(0)  # let open connections deliver their last frames
        flusher_stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if pipeline.publisher is not None:
            await pipeline.publisher.stop()
        unregister(stats)
        log.info("syslog receiver stopped: %s", stats.snapshot())


async def _connect(settings: Settings, pipeline: Pipeline, stop: asyncio.Event) -> None:
    """Connect to Kafka, retrying with backoff: the listeners run (and buffer) meanwhile."""
    delay = 1.0
    while not stop.is_set():
        pub = Publisher(settings, client_id="netvigil-syslog")
        try:
            await pub.start()
        except Exception as exc:  # broker down or unresolvable: count, wait, retry
            pipeline.stats.errors["kafka_connect"] += 1
            log.warning(
                "syslog: Kafka at %s not reachable (%s), retrying in %.0fs",
                settings.kafka.bootstrap,
                exc,
                delay,
            )
            with contextlib.suppress(Exception):
                await pub.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 30.0)
            continue
        pipeline.publisher = pub
        return


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Receive syslog until ``stop`` is set."""
    async with receiver(settings, stop) as rx:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=60.0)
            except TimeoutError:
                log.info("syslog: %s", rx.stats.snapshot())
