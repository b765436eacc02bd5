"""Picking up a promoted model in a running worker, without a restart.

A worker asks ``watcher.current(family)`` on every batch (a dict lookup) and
compares the version with the one it runs.  The watcher keeps that answer fresh by
polling one cheap query (``SELECT family, version ... WHERE stage='production'``)
every ``interval`` seconds, and wakes up early when a promotion is announced on the
Redis channel ``netvigil:models`` (``notify``).  Redis is an accelerator only: if it
is down, or a promotion is made by something that does not announce it (the app,
plain SQL), the next poll still sees it.  Params and artefact are fetched only when
a version changes.

Failures are data: a DB or Redis error is counted (``stats``), logged and survived,
and the last known versions stay in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import psycopg

from models.registry import MODELS_CHANNEL
from netvigil.db import connect
from netvigil.settings import Settings, mask_url

log = logging.getLogger(__name__)


class Deployed(NamedTuple):
    """What a worker needs of a production version (unpacks as a 3-tuple)."""

    version: int
    params: dict[str, Any]
    artefact: bytes | None


OnChange = Callable[[str, Deployed | None], None]


def notify(settings: Settings, family: str, version: int, channel: str = MODELS_CHANNEL) -> bool:
    """Announce a promotion on Redis; False (logged) if Redis is unreachable."""
    import redis

    try:
        client = redis.Redis.from_url(settings.redis.url, socket_timeout=2, socket_connect_timeout=2)
        with contextlib.closing(client):
            client.publish(channel, json.dumps({"family": family, "version": version}))
        return True
    except redis.RedisError as exc:
        log.warning(
            "could not announce %s v%d on %s (%s): workers see it at their next poll",
            family,
            version,
            mask_url(settings.redis.url),
            type(exc).__name__,
        )
        return False


class RegistryWatcher:
    """Production versions of some (or all) families, refreshed by polling + Redis.

    Use one of: ``poll()`` from your own timer; ``await run(stop)`` as an asyncio
    task (polls in a thread, so the loop never blocks; callbacks run on the loop);
    or ``start()``/``stop()`` for a daemon thread (callbacks run in that thread).
    ``on_change(family, deployed_or_None)`` is called once per change, including the
    first poll (from nothing to the current production).
    """

    def __init__(
        self,
        settings: Settings,
        families: Iterable[str] | None = None,
        *,
        interval: float = 15.0,
        use_redis: bool = True,
        on_change: OnChange | None = None,
        channel: str = MODELS_CHANNEL,
    ) -> None:
        self.settings = settings
        self.families = tuple(families) if families is not None else None
        self.interval = interval
        self.use_redis = use_redis
        self.channel = channel
        self._callbacks: list[OnChange] = [on_change] if on_change else []
        self._current: dict[str, Deployed] = {}  # replaced whole, never mutated: lock-free reads
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()  # one DB check at a time
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.stats = {"polls": 0, "errors": 0, "changes": 0, "wakeups": 0}

    # ----- reading ------------------------------------------------------------------
    def current(self, family: str) -> Deployed | None:
        """The production (version, params, artefact) of ``family`` last seen, or None."""
        return self._current.get(family)

    def version(self, family: str) -> int:
        """The production version number, 0 when there is none (as anomaly_scores stores)."""
        dep = self._current.get(family)
        return dep.version if dep else 0

    def add_callback(self, callback: OnChange) -> None:
        self._callbacks.append(callback)

    # ----- polling ------------------------------------------------------------------
    def _check(self) -> list[tuple[str, Deployed | None]]:
        """Query the DB; swap in the new state; return the changes (no callbacks here)."""
        with self._lock:
            self.stats["polls"] += 1
            try:
                return self._check_locked()
            except psycopg.Error as exc:
                self.stats["errors"] += 1
                log.warning(
                    "registry poll failed (%s: %s); keeping versions %s",
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                    {f: d.version for f, d in self._current.items()},
                )
                if self._conn is not None:
                    with contextlib.suppress(Exception):
                        self._conn.close()
                self._conn = None
                return []

    def _check_locked(self) -> list[tuple[str, Deployed | None]]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.settings, autocommit=True)
        conn = self._conn
        if self.families is None:
            rows = conn.execute(
                "SELECT family, version FROM model_registry WHERE stage = 'production'"
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT family, version FROM model_registry WHERE stage = 'production' AND family = ANY(%s)",
                (list(self.families),),
            ).fetchall()
        seen = {str(f): int(v) for f, v in rows}
        old = self._current
        new = {f: d for f, d in old.items() if f in seen and seen[f] == d.version}
        changes: list[tuple[str, Deployed | None]] = []
        for family, version in seen.items():
            if family in new:
                continue
            row = conn.execute(
                "SELECT params, artefact FROM model_registry WHERE family = %s AND version = %s",
                (family, version),
            ).fetchone()
            if row is None:  # promoted and deleted between the two queries: next poll
                continue
            dep = Deployed(version, dict(row[0] or {}), bytes(row[1]) if row[1] is not None else None)
            new[family] = dep
            changes.append((family, dep))
        changes.extend((f, None) for f in old if f not in seen)
        self._current = new
        for family, changed in changes:
            log.info("model %s: production is now %s", family, f"v{changed.version}" if changed else "none")
        self.stats["changes"] += len(changes)
        return changes

    def _fire(self, changes: list[tuple[str, Deployed | None]]) -> None:
        for family, dep in changes:
            for cb in self._callbacks:
                try:
                    cb(family, dep)
                except Exception:  # a faulty callback must not stop the watcher
                    log.exception("registry on_change callback failed for %s", family)

    def poll(self) -> list[str]:
        """Check now (blocking, thread-safe); fire callbacks; return the changed families."""
        changes = self._check()
        self._fire(changes)
        return [f for f, _ in changes]

    # ----- asyncio ------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll every ``interval`` s (early on a Redis announcement) until ``stop`` is set."""
        stop = stop or asyncio.Event()
        pubsub: Any = None
        try:
            while not stop.is_set():
                self._fire(await asyncio.to_thread(self._check))
                if self.use_redis and pubsub is None:
                    pubsub = await self._async_subscribe()
                deadline = time.monotonic() + self.interval
                while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
                    if pubsub is None:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), remaining)
                        continue
                    try:
                        msg = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=min(remaining, 1.0)
                        )
                    except Exception as exc:  # redis down: fall back to polling only
                        self._redis_failed(exc)
                        await self._async_close(pubsub)
                        pubsub = None
                        continue
                    if msg is not None:
                        self.stats["wakeups"] += 1
                        break
        finally:
            await self._async_close(pubsub)
            self.close()

    async def _async_subscribe(self) -> Any:
        import redis.asyncio as aredis

        client = aredis.Redis.from_url(self.settings.redis.url, socket_connect_timeout=2)
        try:
            pubsub = client.pubsub()
            await pubsub.subscribe(self.channel)
            return pubsub
        except Exception as exc:
            self._redis_failed(exc)
            await client.aclose()
            return None

    async def _async_close(self, pubsub: Any) -> None:
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await pubsub.connection_pool.disconnect()

    # ----- thread -------------------------------------------------------------------
    def start(self) -> None:
        """Run the watcher in a daemon thread (first poll happens before returning)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self.poll()
        self._thread = threading.Thread(target=self._thread_main, name="registry-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.close()

    def _thread_main(self) -> None:
        pubsub: Any = None
        try:
            while not self._stop.is_set():
                if self.use_redis and pubsub is None:
                    pubsub = self._sync_subscribe()
                deadline = time.monotonic() + self.interval
                while not self._stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
                    if pubsub is None:
                        self._stop.wait(remaining)
                        continue
                    try:
                        msg = pubsub.get_message(ignore_subscribe_messages=True, timeout=min(remaining, 1.0))
                    except Exception as exc:
                        self._redis_failed(exc)
                        with contextlib.suppress(Exception):
                            pubsub.close()
                        pubsub = None
                        continue
                    if msg is not None:
                        self.stats["wakeups"] += 1
                        break
                if not self._stop.is_set():
                    self.poll()
        finally:
            if pubsub is not None:
                with contextlib.suppress(Exception):
                    pubsub.close()

    def _sync_subscribe(self) -> Any:
        import redis

        try:
            client = redis.Redis.from_url(self.settings.redis.url, socket_connect_timeout=2)
            pubsub = client.pubsub()  # type: ignore[no-untyped-call]
            pubsub.subscribe(self.channel)
            return pubsub
        except Exception as exc:
            self._redis_failed(exc)
            return None

    def _redis_failed(self, exc: BaseException) -> None:
        self.stats["errors"] += 1
        log.warning(
            "registry watcher: Redis %s unavailable (%s); polling every %.0f s only",
            mask_url(self.settings.redis.url),
            type(exc).__name__,
            self.interval,
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None


__all__ = ["Deployed", "OnChange", "RegistryWatcher", "notify"]
