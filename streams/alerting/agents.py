"""Plugging alerting into a NetVigil worker: ``register(app, settings)``.

Registers one Faust task that runs an :class:`AlertRuntime` fed by the
alerting consumer group (see :mod:`streams.alerting.consumer` for why it is a
group of its own rather than an agent on the worker's consumer). The alert
gauges live on the worker's Prometheus registry (``streams.monitoring``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from streams.alerting.consumer import run_consumer
from streams.alerting.runtime import AlertRuntime

if TYPE_CHECKING:
    from netvigil.settings import Settings
    from streams.app import NetvigilApp

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: NetvigilApp, settings: Settings) -> None:
    """Add the alerting task to ``app`` (started and cancelled with the worker)."""

    async def netvigil_alerting() -> None:
        runtime = AlertRuntime(settings)
        await runtime.start()
        log.info(
            "alerting started: %d rules, %d receivers",
            len(runtime.rules.rules),
            len(runtime.notify_config.receivers),
        )
        try:
            await run_consumer(runtime, settings)
        finally:
            await runtime.stop()
            log.info("alerting stopped")

    app.task(netvigil_alerting)
