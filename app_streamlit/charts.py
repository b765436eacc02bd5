"""Plotly figures for the app (pure: DataFrames in, figures out, no Streamlit)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go

__all__ = ["SEVERITY_COLOURS", "STATUS_COLOURS", "bar", "network", "timeseries"]

STATUS_COLOURS: dict[str, str] = {
    "up": "#2ca02c",
    "down": "#d62728",
    "unreachable": "#ff7f0e",
    "degraded": "#e6b800",
    "unknown": "#9e9e9e",
    "external": "#c7d4e8",
}
SEVERITY_COLOURS: dict[str, str] = {
    "critical": "#b71c1c",
    "major": "#e65100",
    "minor": "#f9a825",
    "warning": "#fdd835",
    "info": "#64b5f6",
}
PALETTE = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f")


def _label(metric: str, instance: str, labels: dict[str, str] | None) -> str:
    name = (labels or {}).get(metric, metric)
    return f"{name} [{instance}]" if instance else name


def timeseries(
    data: pd.DataFrame,
    title: str,
    unit: str = "",
    labels: dict[str, str] | None = None,
    yesterday: pd.DataFrame | None = None,
    anomalies: pd.DataFrame | None = None,
    forecasts: pd.DataFrame | None = None,
    height: int = 300,
) -> go.Figure:
    """One line per (metric, instance); yesterday dotted; expected band, anomaly marks and trend on top."""
    fig = go.Figure()
    for n, ((metric, instance), group) in enumerate(data.groupby(["metric", "instance"], sort=True)):
        name = _label(str(metric), str(instance), labels)
        colour = PALETTE[n % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=group["ts"],
                y=group["value"],
                mode="lines",
                name=name,
                legendgroup=name,
                line={"color": colour, "width": 1.5},
            )
        )
        if yesterday is not None and not yesterday.empty:
            y = yesterday[(yesterday["metric"] == metric) & (yesterday["instance"] == instance)]
            if not y.empty:
                fig.add_trace(
                    go.Scatter(
                        x=y["ts"],
                        y=y["value"],
                        mode="lines",
                        name=f"{name} yesterday",
                        legendgroup=name,
                        showlegend=False,
                        line={"dash": "dot", "width": 1, "color": colour},
                        opacity=0.55,
                    )
                )
        if anomalies is not None and not anomalies.empty:
            a = anomalies[(anomalies["metric"] == metric) & (anomalies["instance"] == instance)]
            band = a.dropna(subset=["expected_low", "expected_high"])
            if not band.empty:
                fig.add_trace(
                    go.Scatter(
                        x=band["ts"],
                        y=band["expected_high"],
                        mode="lines",
                        line={"width": 0},
                        showlegend=False,
                        hoverinfo="skip",
                    )
                )
                fig.add_trace(
                    go.Scatter(
                        x=band["ts"],
                        y=band["expected_low"],
                        mode="lines",
                        line={"width": 0},
                        fill="tonexty",
                        fillcolor="rgba(100,149,237,0.15)",
                        name=f"{name} expected",
                    )
                )
            hits = a[a["is_anomaly"].astype(bool)]
            if not hits.empty:
                fig.add_trace(
                    go.Scatter(
                        x=hits["ts"],
                        y=hits["value"],
                        mode="markers",
                        name=f"{name} anomaly",
                        marker={"color": "#d62728", "size": 9, "symbol": "x"},
                        customdata=hits["score"],
                        hovertemplate="score %{customdata:.2f}",
                    )
                )
        if forecasts is not None and not forecasts.empty:
            f = forecasts[(forecasts["metric"] == metric) & (forecasts["instance"] == instance)]
            for row in f.itertuples():
                start = pd.Timestamp(row.ts)
                end = start + timedelta(seconds=float(row.horizon_s))
                fig.add_trace(
                    go.Scatter(
                        x=[start, end],
                        y=[row.intercept, row.intercept + row.slope_per_s * float(row.horizon_s)],
                        mode="lines",
                        name=f"{name} trend",
                        line={"dash": "dash", "color": "#9467bd"},
                    )
                )
                if row.threshold is not None and not pd.isna(row.threshold):
                    fig.add_hline(
                        y=float(row.threshold),
                        line={"dash": "dot", "color": "#d62728"},
                        annotation_text="threshold",
                    )
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        yaxis_title=unit,
        legend={"orientation": "h", "y": -0.28},
        hovermode="x unified",
    )
    if data.empty:
        fig.add_annotation(
            text="no data in this range", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )
    return fig


def bar(frame: pd.DataFrame, x: str, y: str, title: str, colours: dict[str, str] | None = None) -> go.Figure:
    colour = [(colours or {}).get(str(v), "#1f77b4") for v in frame[x]] if not frame.empty else None
    fig = go.Figure(go.Bar(x=frame[x], y=frame[y], marker_color=colour))
    fig.update_layout(title=title, height=260, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def network(nodes: pd.DataFrame, edges: pd.DataFrame, pos: dict[str, tuple[float, float]]) -> go.Figure:
    """LLDP map: one marker per device coloured by status, its name as ``customdata`` for selection."""
    ex: list[float | None] = []
    ey: list[float | None] = []
    for src, dst in zip(edges["source"], edges["target"], strict=True):
        if src in pos and dst in pos:
            ex += [pos[src][0], pos[dst][0], None]
            ey += [pos[src][1], pos[dst][1], None]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=ex,
            y=ey,
            mode="lines",
            line={"color": "#b0b0b0", "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for status, group in nodes.groupby("status", sort=True):
        fig.add_trace(
            go.Scatter(
                x=[pos[n][0] for n in group["name"]],
                y=[pos[n][1] for n in group["name"]],
                mode="markers+text",
                text=list(group["name"]),
                textposition="top center",
                customdata=list(group["name"]),
                name=str(status),
                marker={
                    "size": 16,
                    "color": STATUS_COLOURS.get(str(status), "#1f77b4"),
                    "line": {"width": 1, "color": "#333"},
                },
                hovertemplate="%{customdata}<extra>" + str(status) + "</extra>",
            )
        )
    fig.update_layout(
        height=650,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        clickmode="event+select",
        xaxis={"visible": False},
        yaxis={"visible": False},
        legend={"title": "status"},
    )
    return fig
