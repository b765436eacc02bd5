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
    async with Publisher(settings, client_id="netvigil-syslog") as pub:
        pipeline = Pipeline(pub, matcher, stats)
        udp = UdpSyslog(open_udp_socket(c.bind, c.syslog_udp_port), pipeline)
        udp.start()
        server = await loop.create_server(
            lambda: TcpSyslog(pipeline), c.bind, c.syslog_tcp_port, reuse_address=True, backlog=1024
        )
        tcp_port = server.sockets[0].getsockname()[1]
        udp_port = udp.port
        log.info("syslog listening on %s udp/%d tcp/%d", c.bind, udp_port, tcp_port)
        flusher_stop = asyncio.Event()
        tasks = [
            asyncio.create_task(pipeline.run(flusher_stop), name="syslog-flush"),
            asyncio.create_task(reload_forever(settings, matcher, stop, reload_every), name="syslog-inv"),
        ]
        try:
            yield Receiver(stats, pipeline, matcher, udp_port, tcp_port)
        finally:
            stop.set()
            udp.close()
            server.close()
            # Let queued datagrams and open connections hand over what they hold.
            await asyncio.sleep(0)
            flusher_stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            unregister(stats)
            log.info("syslog receiver stopped: %s", stats.snapshot())


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Receive syslog until ``stop`` is set."""
    async with receiver(settings, stop) as rx:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=60.0)
            except TimeoutError:
                log.info("syslog: %s", rx.stats.snapshot())
