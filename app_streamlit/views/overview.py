"""Overview: fleet status, active alerts, hot spots, anomaly rate and pipeline health."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from app_streamlit import charts, session
from app_streamlit.data import overview as q

session.require_login()
st.title("Overview")
live = st.toggle("Refresh every 10 s", value=False, key="overview_live")


@st.fragment(run_every=10 if live else None)
def body() -> None:
    now = datetime.now(UTC)
    with session.read_conn() as conn:
        status = q.devices_by_status(conn)
        alerts = q.active_alerts_by_severity(conn)
        hot = q.hot_spots(conn, now)
        busiest, cpu, disks = hot["interfaces"], hot["cpu"], hot["disks"]
        rate = q.anomaly_rate(conn, now)
        health = q.pipeline_health(conn, now)
        last = q.last_data(conn, now)

    counts = dict(zip(status["status"], status["devices"], strict=True))
    active = (
        alerts.set_index("severity")[["open", "acknowledged"]].sum(axis=1).to_dict()
        if not alerts.empty
        else {}
    )
    scored = int(rate["scored"].tail(1).sum()) if not rate.empty else 0
    flagged = int(rate["anomalies"].tail(1).sum()) if not rate.empty else 0
    cols = st.columns(6)
    cols[0].metric("Devices", int(status["devices"].sum()) if not status.empty else 0)
    cols[1].metric("Up", int(counts.get("up", 0)))
    cols[2].metric("Down / unreachable", int(counts.get("down", 0) + counts.get("unreachable", 0)))
    cols[3].metric("Critical + major alerts", int(active.get("critical", 0) + active.get("major", 0)))
    cols[4].metric("Active alerts", int(sum(active.values())))
    cols[5].metric("Anomaly rate (last hour)", f"{(100.0 * flagged / scored) if scored else 0:.2f} %")

    left, right = st.columns(2)
    left.plotly_chart(
        charts.bar(status, "status", "devices", "Devices by status", charts.STATUS_COLOURS),
        key="status_chart",
    )
    if not alerts.empty:
        alerts["active"] = alerts["open"] + alerts["acknowledged"]
    right.plotly_chart(
        charts.bar(
            alerts,
            "severity",
            "active" if not alerts.empty else "open",
            "Active alerts by severity",
            charts.SEVERITY_COLOURS,
        ),
        key="alerts_chart",
    )

    a, b, c = st.columns(3)
    a.subheader("Busiest interfaces")
    a.dataframe(
        busiest,
        hide_index=True,
        column_config={
            "in_bps": st.column_config.NumberColumn("in bit/s", format="compact"),
            "out_bps": st.column_config.NumberColumn("out bit/s", format="compact"),
        },
    )
    b.subheader("Highest CPU")
    b.dataframe(
        cpu,
        hide_index=True,
        column_config={
            c_: st.column_config.NumberColumn(format="%.1f")
            for c_ in ("busy_pct", "user_pct", "system_pct", "iowait_pct")
        },
    )
    c.subheader("Fullest disks")
    c.dataframe(
        disks,
        hide_index=True,
        column_config={
            "used_pct": st.column_config.ProgressColumn("used", min_value=0, max_value=100, format="%.0f%%")
        },
    )

    left, right = st.columns(2)
    left.subheader("Anomalies per hour")
    if rate.empty:
        left.info("No anomaly scores in the last 24 hours.")
    else:
        left.bar_chart(rate.set_index("hour")[["anomalies"]], height=220)
    right.subheader("Pipeline health")
    right.dataframe(
        last[["data", "window", "newest", "age_s"]],
        hide_index=True,
        column_config={"age_s": st.column_config.NumberColumn("age (s)", format="%.0f")},
    )
    if health.empty:
        right.caption("No component heartbeats yet.")
    else:
        right.dataframe(
            health,
            hide_index=True,
            column_config={"age_s": st.column_config.NumberColumn("age (s)", format="%.0f")},
        )
    st.caption(f"Updated {now:%H:%M:%S} UTC")


body()
