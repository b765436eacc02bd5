"""Tables and figures for the notebooks, so the notebooks hold no logic of their own.

Figures are plotly objects: call ``fig.show()`` in a notebook or ``write_html``
(``write_image`` needs a browser download and fails on these machines).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from models import registry
from models.train.data import History
from models.train.evaluate import PROFILE_KEYS, Scorer, load_nab
from models.train.run import load_production_scorer


def history_frame(history: Sequence[History]) -> pd.DataFrame:
    """Long format: one row per point (series key, time, value)."""
    parts = [
        pd.DataFrame({"series": h.key, "time": pd.to_datetime(h.ts, unit="s", utc=True), "value": h.values})
        for h in history
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["series", "time", "value"])


def history_summary(history: Sequence[History]) -> pd.DataFrame:
    """Per series: points, span, mean, p95, and the trend per day (least-squares slope)."""
    rows = []
    for h in history:
        slope = float(np.polyfit(h.ts, h.values, 1)[0]) * 86400.0 if len(h.values) > 1 else 0.0
        rows.append(
            {
                "series": h.key,
                "points": len(h.values),
                "first": datetime.fromtimestamp(float(h.ts[0]), UTC),
                "last": datetime.fromtimestamp(float(h.ts[-1]), UTC),
                "mean": float(np.mean(h.values)),
                "p95": float(np.percentile(h.values, 95)),
                "trend_per_day": slope,
            }
        )
    return pd.DataFrame(rows)


def trend_figure(history: Sequence[History], title: str = "stored history") -> Any:
    """Line chart of every series."""
    import plotly.express as px

    return px.line(history_frame(history), x="time", y="value", color="series", title=title)


def daily_profile_figure(history: Sequence[History]) -> Any:
    """Mean value per hour of day (UTC) per series: the daily shape detectors model."""
    import plotly.express as px

    frame = history_frame(history)
    frame["hour"] = frame["time"].dt.hour
    prof = frame.groupby(["series", "hour"], as_index=False)["value"].mean()
    return px.line(
        prof, x="hour", y="value", color="series", markers=True, title="daily profile (mean by hour, UTC)"
    )


def score_figure(h: History, scores: np.ndarray, threshold: float, marks: Sequence[float] = ()) -> Any:
    """A series with its anomaly scores beneath and judged alerts as vertical lines."""
    from plotly.subplots import make_subplots

    t = pd.to_datetime(h.ts, unit="s", utc=True)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35])
    fig.add_scatter(x=t, y=h.values, name=h.key, row=1, col=1)
    fig.add_scatter(x=t, y=scores, name="anomaly score", row=2, col=1)
    fig.add_hline(y=threshold, line_dash="dash", row=2, col=1)
    for m in marks:
        fig.add_vline(x=datetime.fromtimestamp(m, UTC), line_color="red", opacity=0.4)
    fig.update_layout(title=f"{h.key}: scores and judged alerts", height=500)
    return fig


def versions_frame(conn: psycopg.Connection, family: str | None = None) -> pd.DataFrame:
    """The registry as a table, with the headline metrics as columns."""
    keys = ("nab_standard", "nab_low_fp", "alert_precision", "alert_recall", "training_rows")
    return pd.DataFrame(
        [
            {
                "family": v.family,
                "version": v.version,
                "stage": v.stage,
                "algorithm": v.algorithm,
                **{k: v.metrics.get(k) for k in keys},
                "created_by": v.created_by,
                "created_at": v.created_at,
                "promoted_at": v.promoted_at,
            }
            for v in registry.list_versions(conn, family)
        ]
    )


def nab_table(
    scorers: dict[str, tuple[Scorer, float]], data_dir: Path, files: Sequence[str] | int | None = None
) -> pd.DataFrame:
    """NAB scores of named scorers (name -> (scorer, fixed threshold)) on the chosen files."""
    from models.nab.runner import score_arrays

    series = load_nab(Path(data_dir), files)
    rows = []
    for name, (scorer, fixed) in scorers.items():
        scores = [np.clip(s, 0.0, 1.0) for s in scorer(series)]
        for r in score_arrays(series, scores, fixed):
            rows.append(
                {
                    "detector": name,
                    "profile": PROFILE_KEYS.get(r.profile, r.profile),
                    "optimised": round(r.optimised_score, 1),
                    "opt_threshold": r.optimised_threshold,
                    "fixed": round(r.fixed_score, 1),
                    "fixed_threshold": r.fixed_threshold,
                }
            )
    return pd.DataFrame(rows)


def production_nab_table(
    conn: psycopg.Connection,
    data_dir: Path,
    files: Sequence[str] | int | None = None,
    family: str = registry.ONLINE_FAMILY,
    baselines: Sequence[str] = ("zscore",),
) -> pd.DataFrame:
    """NAB table of the family's production detector beside baseline online detectors."""
    from models.online import make_detector
    from models.train.online import bank_scorer

    version, scorer, fixed = load_production_scorer(conn, family)
    scorers: dict[str, tuple[Scorer, float]] = {f"{family} v{version}": (scorer, fixed)}
    for name in baselines:
        scorers[name] = (bank_scorer({"detector": name}), make_detector(name).threshold)
    return nab_table(scorers, data_dir, files)


__all__ = [
    "daily_profile_figure",
    "history_frame",
    "history_summary",
    "nab_table",
    "production_nab_table",
    "score_figure",
    "trend_figure",
    "versions_frame",
]
