"""Registers the rollup job (:mod:`streams.rollup_job`) as a 30-second timer of the worker."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import psycopg

from streams.monitoring import DB_ERRORS

if TYPE_CHECKING:
    from netvigil.settings import Settings
    from streams.app import NetvigilApp

__all__ = ["INTERVAL", "register"]

log = logging.getLogger(__name__)

INTERVAL = 30.0


def register(app: NetvigilApp, settings: Settings) -> None:
    from streams.rollup_job import run_rollups

    @app.timer(interval=INTERVAL)  # type: ignore[untyped-decorator]  # faust decorators are untyped
    async def rollups() -> None:
        try:
            # Blocking psycopg in a thread: the event loop keeps consuming meanwhile.
            await asyncio.to_thread(run_rollups, settings)
        except (psycopg.Error, OSError) as exc:
            DB_ERRORS.inc()
            log.error("rollup run failed (next in %.0fs): %s", INTERVAL, str(exc).splitlines()[0])
