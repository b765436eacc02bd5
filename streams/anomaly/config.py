"""What the anomaly stage scores, stores and forecasts: one frozen dataclass of knobs.

Defaults are what a worker runs; tests shrink the intervals.  Times are in the
records' own time (``MetricBatch.ts``), not the wall clock, so a replay or a
simulated scenario behaves like live data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from netvigil.metrics import CATALOGUE

if TYPE_CHECKING:
    from netvigil.settings import Settings

__all__ = ["DEFAULT_THRESHOLDS", "AnomalyConfig", "config_from_settings"]

# Used when no threshold rule in the rules file/database covers a capacity metric.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "disk_used_pct": 90.0,
    "mem_used_pct": 90.0,
    "swap_used_pct": 80.0,
    "if_in_util_pct": 90.0,
    "if_out_util_pct": 90.0,
    "ping_rtt_avg_ms": 300.0,
}


@dataclass(frozen=True)
class AnomalyConfig:
    """Knobs of the stage (all optional)."""

    # metric families scored by the detector banks (netvigil.metrics.family_of)
    families: tuple[str, ...] = ("interface", "cpu", "memory", "disk", "latency", "loss")
    # Metrics never scored even if their family is: sizes, and values that are a fixed
    # function or a near-copy of a scored one (utilisation = bit/s / speed; packets/s
    # follow bit/s). Scoring them would cost state and CPU per interface and raise the
    # same incident three times (the scale bench: 1.8 M series, 5 GB RSS with them).
    skip_metrics: frozenset[str] = frozenset(
        {
            "disk_size_bytes",
            "mem_total_bytes",
            "disk_used_bytes",
            "if_in_util_pct",
            "if_out_util_pct",
            "if_in_pps",
            "if_out_pps",
        }
    )
    registry_family: str = "online"  # registry family of the detector params; "online.<family>" overrides
    registry_interval: float = 15.0  # seconds between registry polls (Redis announcements wake it early)
    # storage: every flagged point, plus one point per series every store_every_s (0 = every point)
    store_every_s: float = 300.0
    max_pending_rows: int = 1_000_000  # score rows held through a database outage (oldest dropped beyond)
    flush_interval: float = 1.0  # wall seconds between database flushes
    snapshot_interval: float = 300.0  # wall seconds between bank snapshots to the data dir
    # anomaly alert: opens at a flag, clears after clear_points values back inside the expected range
    clear_points: int = 3
    anomaly_severity: str = "warning"
    # forecasts
    capacity_metrics: tuple[str, ...] = field(
        default_factory=lambda: tuple(m.name for m in CATALOGUE.values() if m.capacity)
    )
    forecast_window_s: float = 6 * 3600.0  # trend fitted over this much recent data
    forecast_points: int = 120  # points kept per series (one per window/points seconds)
    forecast_every_s: float = 300.0  # data seconds between two forecasts of one series
    forecast_min_span_s: float = 3600.0  # no forecast from less data than this
    predict_horizon_s: float = 24 * 3600.0  # alert when the crossing is nearer than this
    predictive_severity: str = "warning"
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    thresholds_from_rules: bool = True  # rules file + threshold_rules override ``thresholds``

    def scored(self, metric: str, family: str) -> bool:
        return family in self.families and metric not in self.skip_metrics


_TUNABLE = {f.name: f.type for f in fields(AnomalyConfig) if f.type in ("float", "int", "str")}


def config_from_settings(settings: Settings) -> AnomalyConfig:
    """The defaults with ``streams.anomaly`` overrides from the settings (e.g. the demo's short spans).

    Only scalar knobs can be set there; an unknown one is a ConfigError naming it.
    """
    from netvigil.settings import ConfigError

    overrides = dict(settings.streams.anomaly)
    unknown = sorted(set(overrides) - set(_TUNABLE))
    if unknown:
        raise ConfigError(f"unknown key 'streams.anomaly.{unknown[0]}'; known: {', '.join(sorted(_TUNABLE))}")
    typed: dict[str, float | int | str] = {}
    for key, value in overrides.items():
        kind = {"float": float, "int": int, "str": str}[_TUNABLE[key]]
        try:
            typed[key] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"streams.anomaly.{key}: expected {_TUNABLE[key]}, got {value!r}") from None
    return replace(AnomalyConfig(), **typed)  # type: ignore[arg-type]
