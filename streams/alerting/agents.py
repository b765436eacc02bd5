"""Plugging alerting into a NetVigil worker: ``register(app, settings)``.

Registers one Faust task that, once this worker leads alerting (see
:mod:`streams.alerting.leader`), runs an :class:`AlertRuntime` fed by the
alerting consumer group (see :mod:`streams.alerting.consumer` for why it is a
group of its own rather than an agent on the worker's consumer). The alert
gauges live on the worker's Prometheus registry (``streams.monitoring``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streams.alerting.consumer import run_consumer
from streams.alerting.leader import LeaderLock
from streams.alerting.runtime import AlertRuntime

if TYPE_CHECKING:
    from netvigil.settings import Settings
    from streams.app import NetvigilApp

__all__ = ["register", "run_alerting", "run_in_thread"]

log = logging.getLogger(__name__)


async def run_alerting(
    settings: Settings, standby_interval: float = 5.0, watch_interval: float = 5.0
) -> None:
    """Lead alerting when possible, until cancelled; stand by while another worker leads."""
    lock = LeaderLock(settings)
    while True:
        if not await asyncio.to_thread(lock.try_acquire):
            log.debug("another worker leads alerting; standing by")
            await asyncio.sleep(standby_interval)
            continue
        log.info("this worker leads alerting")
        runtime = AlertRuntime(settings)
        consumer: asyncio.Task[None] | None = None
        try:
            await runtime.start()
            log.info(
                "alerting started: %d rules, %d receivers",
                len(runtime.rules.rules),
                len(runtime.notify_config.receivers),
            )
            consumer = asyncio.create_task(run_consumer(runtime, settings))
            while not consumer.done():
                await asyncio.wait({consumer}, timeout=watch_interval)
                state = "held" if consumer.done() else await asyncio.to_thread(lock.check)
                if state == "lost":
                    log.error("alerting leadership lost to another worker: stopping, will stand by")
                    consumer.cancel()
                elif state == "unknown":
                    log.warning("alerting leadership unknown (database unreachable): still evaluating")
            with contextlib.suppress(asyncio.CancelledError):
                await consumer  # re-raises a crash of the consumer: logged below, then retried
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("alerting failed; retrying")
        finally:
            if consumer is not None and not consumer.done():
                consumer.cancel()
                await asyncio.gather(consumer, return_exceptions=True)
            await runtime.stop()
            await asyncio.to_thread(lock.release)
            log.info("alerting stopped")
        await asyncio.sleep(standby_interval)


def run_in_thread(settings: Settings) -> tuple[threading.Thread, Callable[[], None]]:
    """Start :func:`run_alerting` on its own event loop in a thread; returns (thread, stop).

    Why a thread: the worker's event loop also runs the pipeline, whose CPU
    work (decoding, rates, COPY buffers) holds the loop for long stretches
    under load, and a notification would wait behind it. In a thread of its
    own, alerting gets the interpreter every switch interval (5 ms) instead.
    """
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def target() -> None:
        loop = asyncio.new_event_loop()
        task = loop.create_task(run_alerting(settings))
        holder["loop"], holder["task"] = loop, task
        ready.set()
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("alerting thread crashed")
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=target, name="netvigil-alerting", daemon=True)
    thread.start()
    ready.wait()

    def stop() -> None:
        loop: asyncio.AbstractEventLoop = holder["loop"]
        if not loop.is_closed():
            loop.call_soon_threadsafe(holder["task"].cancel)

    return thread, stop


def register(app: NetvigilApp, settings: Settings) -> None:
    """Add the alerting task to ``app`` (started and stopped with the worker)."""

    async def netvigil_alerting() -> None:
        thread, stop = run_in_thread(settings)
        try:
            while thread.is_alive():  # noqa: ASYNC110 - a thread, not a coroutine, to wait for
                await asyncio.sleep(1.0)
        finally:
            stop()
            await asyncio.to_thread(thread.join, 30)

    app.task(netvigil_alerting)
