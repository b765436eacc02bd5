"""Registers the persistence pipeline (:mod:`streams.pipeline`) as a service of the worker."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import mode

if TYPE_CHECKING:
    from netvigil.settings import Settings
    from streams.app import NetvigilApp

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: NetvigilApp, settings: Settings) -> None:
    """Run the pipeline with the app; processors are read from ``app.batch_processors``."""
    from streams.pipeline import Pipeline

    @app.service
    class PipelineService(mode.Service):  # type: ignore[misc]
        """Start/stop wrapper: mode cancels the run task on stop, before nothing is committed."""

        pipeline: Pipeline

        async def on_start(self) -> None:
            self.live = app.live_state()
            self.pipeline = Pipeline(settings, processors=app.batch_processors, live=self.live)
            await self.pipeline.start()

        @mode.Service.task
        async def _run(self) -> None:
            await self.pipeline.run(lambda: self.should_stop)

        async def on_stop(self) -> None:
            await self.pipeline.stop()
            await self.live.close()
