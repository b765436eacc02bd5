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
from typing import TYPE_CHECKING

from streams.alerting.consumer import run_consumer
from streams.alerting.leader import LeaderLock
from streams.alerting.runtime import AlertRuntime

if TYPE_CHECKING:
    from netvigil.settings import Settings
    from streams.app import NetvigilApp

__all__ = ["register", "run_alerting"]

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
                if not consumer.done() and not await asyncio.to_thread(lock.alive):
                    log.error(
                        "alerting leadership lost (database session ended): stopping, will compete again"
                    )
                    consumer.cancel()
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


def register(app: NetvigilApp, settings: Settings) -> None:
    """Add the alerting task to ``app`` (started and cancelled with the worker)."""

    async def netvigil_alerting() -> None:
        await run_alerting(settings)

    app.task(netvigil_alerting)
