"""Plugging the anomaly stage into a worker: ``register(app, settings)``.

The stage is a batch processor of the pipeline (``app.batch_processors``) plus
a service that starts it (restores snapshots, first registry poll, alert engine
rebuild) and stops it (last flush, final snapshot).  Bank snapshots go to
``<worker data dir>/anomaly/`` (see :mod:`streams.anomaly.snapshots`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import mode

from streams.anomaly.config import config_from_settings
from streams.anomaly.stage import AnomalyStage

if TYPE_CHECKING:
    from netvigil.settings import Settings
    from streams.app import NetvigilApp

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: NetvigilApp, settings: Settings) -> None:
    """Score every persisted batch; start and stop the stage with the worker."""
    stage = AnomalyStage(
        settings,
        config=config_from_settings(settings),
        state_dir=Path(app.conf.datadir) / "anomaly",
        live=app.live_state(),
    )
    app.batch_processors.append(stage.process)

    @app.service
    class AnomalyService(mode.Service):  # type: ignore[misc]
        async def on_start(self) -> None:
            await stage.start()

        async def on_stop(self) -> None:
            await stage.stop()
