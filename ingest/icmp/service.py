"""`netvigil collect icmp`: ping every enabled inventory device once per cycle.

Every ``collector.ping_cycle`` seconds: reload the enabled devices (SNMP or
not; on a database outage the previous list is kept), send
``collector.ping_count`` probes ``ping_interval`` apart to all of them at once,
and publish one PingResult per device on topic ``ping``. A cycle that runs
longer than the period is logged and the next starts at once; a failure to
send to one target is that target's result, never the loop's end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import psycopg
from prometheus_client import Counter, Gauge

from ingest.icmp.engine import IcmpEngine
from ingest.icmp.prober import ping_targets
from ingest.metrics_http import ensure_metrics_server
from netvigil.bus import start_publisher
from netvigil.inventory import Device, load_devices
from netvigil.records import PingResult
from netvigil.settings import Settings

__all__ = ["probe_cycle", "run", "serve"]

log = logging.getLogger(__name__)

_CYCLES = Counter("netvigil_icmp_cycles", "ICMP probe cycles completed")
_RESULTS = Counter("netvigil_icmp_results", "PingResults published", ["status"])
_PUBLISH_ERRORS = Counter("netvigil_icmp_publish_errors", "PingResults that could not be published")
_TARGETS = Gauge("netvigil_icmp_targets", "Targets in the last cycle")
_CYCLE_SECONDS = Gauge("netvigil_icmp_cycle_seconds", "Duration of the last probe cycle")


def _load(settings: Settings) -> list[Device]:
    with psycopg.connect(settings.postgres.dsn, connect_timeout=5) as conn:
        return load_devices(conn, enabled_only=True)


def _status(result: PingResult) -> str:
    if result.error:
        return "error"
    return "up" if result.received else "down"


async def probe_cycle(settings: Settings, engine: IcmpEngine, devices: list[Device]) -> list[PingResult]:
    c = settings.collector
    return await ping_targets(
        engine,
        [(d.name, d.address) for d in devices],
        count=c.ping_count,
        interval=c.ping_interval,
        reply_timeout=c.ping_timeout,
    )


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Probe the inventory every cycle until ``stop`` is set."""
    await serve(settings, stop)


async def serve(
    settings: Settings, stop: asyncio.Event, *, select: Callable[[Device], bool] | None = None
) -> None:
    """:func:`run`, with ``select`` narrowing the devices (tests on a shared inventory)."""
    ensure_metrics_server(settings)
    devices: list[Device] = []
    period = settings.collector.ping_cycle
    pub = await start_publisher(settings, stop, "netvigil-icmp")
    if pub is None:
        return
    async with IcmpEngine() as engine:
        log.info("ICMP prober: %d probes every %.1f s", settings.collector.ping_count, period)
        while not stop.is_set():
            started = time.monotonic()
            try:
                devices = await asyncio.to_thread(_load, settings)
                if select is not None:
                    devices = [d for d in devices if select(d)]
            except Exception as exc:  # a DB outage: keep probing the last known devices
                log.warning("inventory reload failed, keeping %d devices: %s", len(devices), exc)
            results = await probe_cycle(settings, engine, devices)
            for result in results:
                try:
                    await pub.send("ping", result)
                    _RESULTS.labels(status=_status(result)).inc()
                except Exception as exc:  # counted, never fatal
                    _PUBLISH_ERRORS.inc()
                    log.error("could not publish a ping result: %s", exc)
            await pub.flush()
            elapsed = time.monotonic() - started
            _CYCLES.inc()
            _TARGETS.set(len(devices))
            _CYCLE_SECONDS.set(elapsed)
            if elapsed > period:
                log.warning("ICMP cycle of %d targets took %.1f s (> %.1f s)", len(devices), elapsed, period)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, period - elapsed))
    await pub.stop()
