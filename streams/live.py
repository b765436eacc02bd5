"""Live state in Redis: latest value per series, device status, active alerts.

Keys (``prefix`` defaults to ``netvigil:``):

- ``{prefix}latest:{device}`` hash: ``"metric|instance"`` -> value, ``_ts`` -> epoch;
- ``{prefix}devices`` hash: device -> JSON ``{"status": ..., "ts": ...}``;
- ``{prefix}alerts:active`` hash: alert key -> Alert JSON (resolved alerts removed);
- channel ``{prefix}alerts``: every alert change, as Alert JSON.

Redis is a cache of what PostgreSQL holds, so it must never stop the
pipeline: every operation is guarded, failures are counted
(``netvigil_worker_redis_errors``) and logged once per outage, and while
Redis is down calls return at once until a back-off delay has passed. A
mirror of the live state is kept in memory, and when Redis answers again the
whole mirror is written back (the live state is rebuilt, not just resumed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from sys import intern
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from netvigil.records import Alert, MetricBatch
from netvigil.settings import Settings
from netvigil.topics import encode
from streams.monitoring import REDIS_ERRORS

__all__ = ["LiveState"]

log = logging.getLogger(__name__)


def _hset(key: str, mapping: dict[str, str]) -> bytes:
    """One RESP ``HSET key field value ...`` command."""
    parts = [b"*%d\r\n$4\r\nHSET\r\n" % (2 + 2 * len(mapping))]
    k = key.encode()
    parts.append(b"$%d\r\n%s\r\n" % (len(k), k))
    for field, value in mapping.items():
        f, v = field.encode(), value.encode()
        parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(f), f, len(v), v))
    return b"".join(parts)


class LiveState:
    def __init__(self, settings: Settings, prefix: str = "netvigil:", max_backoff: float = 30.0) -> None:
        self.prefix = prefix
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            settings.redis.url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self.max_backoff = max_backoff
        self.errors = 0
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._backoff = min(0.5, max_backoff)
        self._latest: dict[str, dict[str, str]] = {}
        self._devices: dict[str, str] = {}
        self._alerts: dict[str, bytes] = {}
        self._dirty: set[str] = set()
        self._dirty_devices: set[str] = set()
        self._flusher: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self._down_since is None

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
            await self.flush()
        await self.client.aclose()

    # -- public API -----------------------------------------------------------
    async def set_latest(self, batches: MetricBatch | Sequence[MetricBatch]) -> None:
        """Record the latest value of every series in ``batches``.

        With a flusher running (:meth:`start_flusher`) this only updates the
        in-memory mirror and the flusher writes changed devices every
        interval, coalescing several polls of a device into one write and
        keeping Redis off the pipeline's critical path. Without one it writes now.
        """
        items = [batches] if isinstance(batches, MetricBatch) else batches
        for b in items:
            fields = self._latest.setdefault(b.device, {})
            # flag_key() keys, interned: the same few hundred strings for every device (memory at scale)
            fields.update({intern(f"{m.metric}|{m.instance}"): repr(m.value) for m in b.metrics})
            fields["_ts"] = repr(b.ts)
            self._dirty.add(b.device)
        if self._flusher is None:
            await self.flush()

    async def flush(self) -> None:
        """Write the latest values and statuses of every device changed since the last flush."""
        if not self._dirty and not self._dirty_devices:
            return
        dirty, self._dirty = self._dirty, set()
        dirty_devices, self._dirty_devices = self._dirty_devices, set()
        if self._down_since is not None:  # recovering: the rebuild writes everything anyway

            async def op(pipe: Any) -> None:
                return None

            await self._run(op)
            return
        # The hot path: tens of thousands of fields a second. redis-py packs each
        # argument in Python (half a core at 100k samples/s); one RESP buffer
        # built here costs a third of that.
        parts: list[bytes] = []
        try:
            for k, d in enumerate(dirty):
                parts.append(_hset(f"{self.prefix}latest:{d}", self._latest[d]))
                if k % 64 == 63:
                    await asyncio.sleep(0)  # ~100 fields a device: do not hold the worker's loop for long
        except asyncio.CancelledError:
            self._dirty |= dirty  # close() cancels the flusher, then flushes what is left
            self._dirty_devices |= dirty_devices
            raise
        if dirty_devices:
            parts.append(_hset(f"{self.prefix}devices", {d: self._devices[d] for d in dirty_devices}))
        await self._run_packed(b"".join(parts), len(parts))

    async def _run_packed(self, payload: bytes, replies: int) -> bool:
        now = time.monotonic()
        if self._down_since is not None and now < self._retry_at:
            return False
        pool = self.client.connection_pool
        try:
            conn = await pool.get_connection()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            try:
                await conn.send_packed_command(payload)
                for _ in range(replies):
                    await conn.read_response()
            except BaseException:
                await conn.disconnect()
                raise
            finally:
                await pool.release(conn)
        except (RedisError, OSError) as exc:
            self._failed(exc, now)
            return False
        return True

    def start_flusher(self, interval: float = 0.5) -> None:
        """Write latest values in the background every ``interval`` seconds."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.flush()
                except Exception:  # the flusher must outlive any surprise
                    log.exception("live-state flush failed")

        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(loop())

    async def set_device_status(self, device: str, status: str, ts: float) -> None:
        await self.set_device_statuses({device: (status, ts)})

    async def set_device_statuses(self, statuses: dict[str, tuple[str, float]]) -> None:
        """Several devices' status in one round trip (or the next flush, with a flusher)."""
        for device, (status, ts) in statuses.items():
            self._devices[device] = msgspec.json.encode({"status": status, "ts": ts}).decode()
            self._dirty_devices.add(device)
        if self._flusher is None:
            await self.flush()

    async def publish_alert(self, alert: Alert) -> None:
        """Update the active-alert hash and fan the change out on the alerts channel."""
        payload = encode(alert)
        if alert.state == "resolved":
            self._alerts.pop(alert.key, None)
        else:
            self._alerts[alert.key] = payload

        async def op(pipe: Any) -> None:
            if alert.state == "resolved":
                pipe.hdel(f"{self.prefix}alerts:active", alert.key)
            else:
                pipe.hset(f"{self.prefix}alerts:active", alert.key, payload)
            pipe.publish(f"{self.prefix}alerts", payload)

        await self._run(op)

    # -- guarded execution ------------------------------------------------------
    async def _run(self, op: Callable[[Any], Awaitable[None] | None]) -> bool:
        now = time.monotonic()
        if self._down_since is not None and now < self._retry_at:
            return False
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                if self._down_since is not None:
                    self._rebuild(pipe)
                result = op(pipe)
                if result is not None:
                    await result
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed(exc, now)
            return False
        if self._down_since is not None:
            log.warning("Redis is back after %.1fs: live state rebuilt", now - self._down_since)
            self._down_since = None
            self._backoff = min(0.5, self.max_backoff)
        return True

    def _failed(self, exc: Exception, now: float) -> None:
        self.errors += 1
        REDIS_ERRORS.inc()
        if self._down_since is None:
            log.error("Redis unavailable (%s): live state paused, pipeline continues", type(exc).__name__)
            self._down_since = now
        self._retry_at = now + self._backoff
        self._backoff = min(self._backoff * 2, self.max_backoff)

    def _rebuild(self, pipe: Any) -> None:
        for device, fields in self._latest.items():
            pipe.hset(f"{self.prefix}latest:{device}", mapping=fields)
        if self._devices:
            pipe.hset(f"{self.prefix}devices", mapping=self._devices)
        pipe.delete(f"{self.prefix}alerts:active")
        if self._alerts:
            pipe.hset(f"{self.prefix}alerts:active", mapping=self._alerts)
