"""`netvigil collect snmp`: poll the inventory forever and publish one DevicePoll per poll.

Each device runs on its own schedule (its poll_interval, with a random start
offset so a thousand devices do not fire in the same millisecond); a
semaphore (``collector.snmp_concurrency``) bounds polls in flight; the v1/v2c
engine shares one socket, so a dead device only costs its own timeouts. The
inventory is re-read every minute; a database outage keeps the last list.
Several processes split the inventory with ``collector.shard = "k/n"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import zlib

from prometheus_client import Counter, Gauge, Histogram

from ingest.snmp.factory import Engines, make_transport
from ingest.snmp.poller import poll_device
from ingest.snmp.transport import SnmpError
from netvigil.bus import Publisher
from netvigil.inventory import Device
from netvigil.records import DevicePoll
from netvigil.settings import Settings

__all__ = ["in_shard", "parse_shard", "run", "select_devices"]

log = logging.getLogger(__name__)
RELOAD_SECONDS = 60.0

POLLS = Counter("netvigil_snmp_polls_total", "Device polls by status", ["status"])
VALUES = Counter("netvigil_snmp_values_total", "Samples and properties collected")
UNREACHABLE = Counter("netvigil_snmp_unreachable_total", "Polls of devices that did not answer")
ERRORS = Counter(
    "netvigil_snmp_errors_total", "Errors: inventory loads, publishing, refused credentials", ["what"]
)
DURATION = Histogram("netvigil_snmp_poll_duration_seconds", "Duration of one device poll",
                     buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))  # fmt: skip
DEVICES = Gauge("netvigil_snmp_devices", "Devices this poller owns")


def parse_shard(text: str) -> tuple[int, int]:
    """``"k/n"`` -> (k, n) with 0 <= k < n; ValueError with the reason otherwise."""
    try:
        k, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like 'k/n' (e.g. 1/4), not {text!r}") from None
    if n < 1 or not 0 <= k < n:
        raise ValueError(f"shard {text!r}: need 0 <= k < n")
    return k, n


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    """Stable across processes and restarts (crc32, not Python's salted hash)."""
    return zlib.crc32(name.encode()) % shard[1] == shard[0]


def select_devices(devices: list[Device], shard: tuple[int, int]) -> dict[str, Device]:
    return {
        d.name: d
        for d in devices
        if d.enabled and d.credentials.version != "none" and in_shard(d.name, shard)
    }


def _load(settings: Settings) -> list[Device]:
    from netvigil.db import connect
    from netvigil.inventory import load_devices

    with connect(settings) as conn:
        return load_devices(conn, enabled_only=True)


def _start_metrics(settings: Settings) -> None:
    try:
        from ingest.metrics_http import ensure_metrics_server
    except ImportError:  # the shared helper is optional; fall back to our own endpoint
        from prometheus_client import start_http_server

        try:
            start_http_server(settings.collector.metrics_port, addr=settings.collector.bind)
        except OSError as exc:
            log.warning("metrics endpoint not started: %s", exc)
        return
    ensure_metrics_server(settings)


class _Poller:
    def __init__(self, settings: Settings, pub: Publisher, stop: asyncio.Event) -> None:
        self.settings, self.pub, self.stop = settings, pub, stop
        self.engines = Engines()
        self.sem = asyncio.Semaphore(settings.collector.snmp_concurrency)
        self.tasks: dict[str, tuple[Device, asyncio.Task[None]]] = {}

    def apply(self, devices: dict[str, Device]) -> None:
        for name in list(self.tasks):
            old, task = self.tasks[name]
            if devices.get(name) != old:
                task.cancel()
                del self.tasks[name]
        for name, device in devices.items():
            if name not in self.tasks:
                self.tasks[name] = (
                    device,
                    asyncio.create_task(self._device_loop(device), name=f"snmp-{name}"),
                )
        DEVICES.set(len(self.tasks))

    async def _device_loop(self, device: Device) -> None:
        interval = max(1.0, device.poll_interval)
        due = time.monotonic() + random.uniform(0, min(interval, 10.0))  # noqa: S311 - jitter
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), max(0.0, due - time.monotonic()))
            if self.stop.is_set():
                return
            await self.poll_once(device)
            due += interval
            if due < time.monotonic():  # fell behind (a long timeout): skip, do not burst
                due = time.monotonic() + interval

    async def poll_once(self, device: Device) -> None:
        c = self.settings.collector
        async with self.sem:
            try:
                transport = make_transport(self.engines, device.address, device.port, device.credentials,
                                           timeout=c.snmp_timeout, retries=c.snmp_retries, v3_only=c.v3_only)  # fmt: skip
            except SnmpError as exc:
                ERRORS.labels("refused").inc()
                log.warning("not polling %s: %s", device.name, exc)
                return
            record: DevicePoll = await poll_device(device, transport)
        POLLS.labels(record.status).inc()
        DURATION.observe(record.duration_ms / 1000)
        VALUES.inc(len(record.samples) + len(record.props))
        if record.status == "unreachable":
            UNREACHABLE.inc()
        try:
            await self.pub.send("poll", record)
        except Exception:  # a Kafka hiccup is counted and survived; the next poll retries
            ERRORS.labels("publish").inc()
            log.exception("could not publish the poll of %s", device.name)

    async def close(self) -> None:
        for _, task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*(t for _, t in self.tasks.values()), return_exceptions=True)
        await self.engines.close()


async def run(settings: Settings, stop: asyncio.Event) -> None:
    shard = parse_shard(settings.collector.shard)
    _start_metrics(settings)
    async with Publisher(settings, client_id=f"netvigil-snmp-{shard[0]}of{shard[1]}") as pub:
        poller = _Poller(settings, pub, stop)
        log.info("SNMP poller shard %d/%d started", *shard)
        try:
            while not stop.is_set():
                try:
                    devices = await asyncio.to_thread(_load, settings)
                    poller.apply(select_devices(devices, shard))
                except Exception as exc:  # DB outage: keep polling the last known inventory
                    ERRORS.labels("inventory").inc()
                    log.warning("inventory reload failed, keeping %d devices: %s", len(poller.tasks), exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RELOAD_SECONDS)
        finally:
            await poller.close()
            await pub.flush()
