"""`netvigil collect traps`: the trap receiver as a long-running service.

Listens on ``collector.bind:collector.trap_port`` (1162 by default so it runs
unprivileged; production uses 162: set ``collector.trap_port: 162`` and run
with CAP_NET_BIND_SERVICE, or redirect 162 to 1162 in the firewall).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

from ingest.metrics_http import ensure_metrics_server
from ingest.traps.auth import TrapAuth
from ingest.traps.metrics import TrapStats
from ingest.traps.oids import OidNames
from ingest.traps.receiver import ORIGIN, DeadLetterItem, Outbound, TrapItem, TrapReceiver, open_socket
from ingest.traps.v3 import V3Bridge
from netvigil.bus import Publisher, start_publisher
from netvigil.inventory import AddressIndex, Device, load_devices
from netvigil.settings import Settings

__all__ = ["TrapService", "run"]

log = logging.getLogger(__name__)
INVENTORY_RELOAD_S = 60.0
QUEUE_MAX = 200_000
INFLIGHT_INFORMS = 1000


def _load_devices(settings: Settings) -> list[Device]:
    with psycopg.connect(settings.postgres.dsn, connect_timeout=5) as conn:
        return load_devices(conn, enabled_only=True)


class TrapService:
    """Socket + receiver + publishing task; ``stats`` and ``port`` are readable while it runs."""

    def __init__(self, settings: Settings, *, port: int | None = None) -> None:
        self.settings = settings
        self.port = settings.collector.trap_port if port is None else port
        self.stats = TrapStats()
        self.index = AddressIndex()
        self.auth = TrapAuth.from_settings(settings.collector)  # ValueError on a bad user: refuse to start
        self.names = OidNames.with_mibs()
        self.started = asyncio.Event()
        self.metrics_port: int | None = None
        self._informs: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(INFLIGHT_INFORMS)

    async def run(self, stop: asyncio.Event) -> None:
        self.metrics_port = ensure_metrics_server(self.settings)
        queue: asyncio.Queue[Outbound] = asyncio.Queue(QUEUE_MAX)
        receiver = TrapReceiver(
            names=self.names, auth=self.auth, index=self.index, stats=self.stats, queue=queue
        )
        bridge = V3Bridge(self.auth.users, receiver.on_v3) if self.auth.users else None
        receiver.v3 = bridge
        await self._refresh()  # senders are matched from the first trap on
        sock = open_socket(self.settings.collector.bind, self.port)
        self.port = sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        pub = await start_publisher(self.settings, stop, "netvigil-traps", linger_ms=5)
        if pub is None:  # stopped before Kafka ever answered
            sock.close()
            if bridge is not None:
                bridge.close()
            return
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: receiver, sock=sock)
            log.info(
                "trap receiver on udp %s:%d (%d communities, %d v3 users%s)",
                self.settings.collector.bind,
                self.port,
                len(self.settings.collector.trap_communities),
                len(self.auth.users),
                ", v3 only" if self.auth.v3_only else "",
            )
            tasks = [
                asyncio.create_task(self._drain(queue, pub), name="traps-publish"),
                asyncio.create_task(self._reload(stop), name="traps-inventory"),
            ]
            self.started.set()
            try:
                await stop.wait()
            finally:
                transport.close()
                await self._finish(queue, tasks)
                await pub.flush()
                if bridge is not None:
                    bridge.close()
        finally:
            await pub.stop()
        log.info("trap receiver stopped: %s", dict(self.stats.counts))

    async def _finish(self, queue: asyncio.Queue[Outbound], tasks: list[asyncio.Task[None]]) -> None:
        """Publish what was already received, then stop the helpers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(queue.join(), 10)
        if self._informs:
            await asyncio.wait(self._informs, timeout=10)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _drain(self, queue: asyncio.Queue[Outbound], pub: Publisher) -> None:
        while True:
            item = await queue.get()
            try:
                if isinstance(item, DeadLetterItem):
                    await pub.send_dead_letter(ORIGIN, item.reason, item.payload, item.source)
                elif item.ack is None:
                    await pub.send("trap", item.trap)
                    self.stats.published(item.trap.version)
                else:
                    await self._slots.acquire()
                    task = asyncio.create_task(self._inform(pub, item))
                    self._informs.add(task)
                    task.add_done_callback(self._informs.discard)
            except Exception as exc:  # a Kafka failure is counted, never fatal
                self.stats.dropped("publish_error")
                log.error("could not publish a trap: %s", exc)
            finally:
                queue.task_done()

    async def _inform(self, pub: Publisher, item: TrapItem) -> None:
        try:
            await pub.send("trap", item.trap, wait=True)
            self.stats.published(item.trap.version)
            if item.ack is not None:
                item.ack()
                self.stats.acked()
        except Exception as exc:  # not acknowledged: the sender retries
            self.stats.dropped("publish_error")
            log.error("could not publish an inform (not acknowledged): %s", exc)
        finally:
            self._slots.release()

    async def _refresh(self) -> None:
        try:
            self.index.update(await asyncio.to_thread(_load_devices, self.settings))
        except Exception as exc:  # keep the last inventory on a DB outage
            log.warning("inventory reload failed, keeping the previous one: %s", exc)

    async def _reload(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INVENTORY_RELOAD_S)
            await self._refresh()


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Receive traps until ``stop`` is set."""
    await TrapService(settings).run(stop)
