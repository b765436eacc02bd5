"""Which agents a worker runs: the extension point for every tier.

``REGISTRARS`` lists ``"module:function"`` names. The worker imports each and
calls ``function(app, settings)`` before it starts; the function declares its
agents, timers or services on ``app`` (a :class:`streams.app.NetvigilApp`),
and may append to ``app.batch_processors`` to receive every persisted
:class:`~streams.app.SeriesBatch` group (detectors, metric rules).

To add a tier, add one line here, e.g. ``"streams.alerting.agents:register"``.

What an agent can use on ``app``:

- ``app.nv_topic("metrics")`` (and every other NetVigil topic): Faust topics
  of raw bytes; decode with ``streams.app.decode_or_dead_letter``.
- ``app.batch_processors.append(fn)``: ``async fn(groups)`` is called with
  every group of :class:`~streams.app.SeriesBatch` (a MetricBatch and the
  series id of each metric) right after the rows are committed to PostgreSQL
  and before the Kafka offsets are (a crash re-delivers the group; an
  exception in ``fn`` is logged and does not stop persistence). This is the
  hook for the detector bank and for metric threshold rules.
- ``app.live_state()``: the worker's Redis live state (``publish_alert``).
- ``streams.monitoring.REGISTRY``: put your Prometheus metrics there.
Names are strings (imported lazily) so a worker does not import what it does
not run, and ``netvigil worker --agents`` can pick a subset.

Example::

    def register(app: NetvigilApp, settings: Settings) -> None:
        @app.agent(app.nv_topic("metrics"))
        async def thresholds(stream):
            async for payload in stream:
                batch = await decode_or_dead_letter(app, "metrics", payload)
                ...
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netvigil.settings import Settings
    from streams.app import NetvigilApp

__all__ = ["REGISTRARS", "register_all", "resolve"]

log = logging.getLogger(__name__)

REGISTRARS: tuple[str, ...] = (
    "streams.agents.pipeline:register",  # poll/ping/trap/syslog -> rates -> PostgreSQL, metrics, Redis
    "streams.agents.rollups:register",  # 1-minute and 1-hour rollups from stored samples
    "streams.alerting.agents:register",  # thresholds, alert lifecycle, notifications (leader worker)
    "streams.anomaly.agents:register",  # detector banks, forecasts, anomaly/predictive alerts
)

Registrar = Callable[["NetvigilApp", "Settings"], None]


def resolve(name: str) -> Registrar:
    """``"pkg.module:function"`` -> the function (ImportError/AttributeError if absent)."""
    module_name, _, attr = name.partition(":")
    if not attr:
        raise ValueError(f"registrar {name!r} must be 'module:function'")
    fn: Registrar = getattr(importlib.import_module(module_name), attr)
    return fn


def register_all(app: NetvigilApp, settings: Settings, names: Sequence[str] = REGISTRARS) -> list[str]:
    """Call every registrar in ``names`` on ``app``; returns the names registered."""
    done: list[str] = []
    for name in names:
        resolve(name)(app, settings)
        log.info("registered %s", name)
        done.append(name)
    return done
