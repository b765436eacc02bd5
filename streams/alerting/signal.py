"""A rule's verdict on one series (:class:`Signal`) and the dedup key it maps to.

Apart from :mod:`streams.alerting.evaluate` so that the no-data sweep, which
also emits signals, can share it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Signal", "alert_key"]


def alert_key(rule: str, device: str, instance: str) -> str:
    """The dedup key: one alert per rule, device and instance."""
    return f"{rule}/{device}/{instance}"


@dataclass(frozen=True)
class Signal:
    """A rule's verdict on one series: firing at a severity, or cleared.

    ``reason`` says why a clear happened when it is not the value going back
    to normal: ``"no data"`` (the series went silent; the engine resolves
    with that reason, bypassing flap damping, since silence is not a
    condition change) or ``"data received"`` (a nodata rule's data is back).
    ``detail`` goes to the alert's timeline.
    """

    rule: str
    device: str
    instance: str
    firing: bool
    ts: float
    severity: str = "warning"
    metric: str = ""
    kind: str = "threshold"
    value: float | None = None
    threshold: float | None = None
    summary: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return alert_key(self.rule, self.device, self.instance)
