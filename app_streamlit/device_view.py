"""One device's page: system, disks, interfaces, anomalies and forecasts on the charts, live mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from app_streamlit import charts, live, session
from app_streamlit.data import devices as q

__all__ = ["RANGES", "render"]

RANGES: dict[str, timedelta] = {
    "1 hour": timedelta(hours=1),
    "6 hours": timedelta(hours=6),
    "24 hours": timedelta(days=1),
    "2 days": timedelta(days=2),
    "7 days": timedelta(days=7),
    "30 days": timedelta(days=30),
}
SYSTEM = [
    "cpu_user_pct",
    "cpu_system_pct",
    "cpu_iowait_pct",
    "load_1",
    "load_5",
    "load_15",
    "mem_used_pct",
    "mem_buffer_pct",
    "mem_cached_pct",
    "swap_used_pct",
]
DISK = ["disk_used_pct", "diskio_busy_pct"]
IFACE = [
    "if_in_bps",
    "if_out_bps",
    "if_in_util_pct",
    "if_out_util_pct",
    "if_in_errors_ps",
    "if_out_errors_ps",
    "if_in_discards_ps",
    "if_out_discards_ps",
]
LABELS = {
    "cpu_user_pct": "user",
    "cpu_system_pct": "system",
    "cpu_iowait_pct": "iowait",
    "load_1": "load 1",
    "load_5": "load 5",
    "load_15": "load 15",
    "mem_used_pct": "used",
    "mem_buffer_pct": "buffers",
    "mem_cached_pct": "cache",
    "swap_used_pct": "swap",
    "if_in_bps": "in",
    "if_out_bps": "out",
    "if_in_util_pct": "in",
    "if_out_util_pct": "out",
    "if_in_errors_ps": "in errors",
    "if_out_errors_ps": "out errors",
    "if_in_discards_ps": "in discards",
    "if_out_discards_ps": "out discards",
    "disk_used_pct": "used",
    "diskio_busy_pct": "busy",
}


def _pick(frame: pd.DataFrame | None, metrics: list[str], instance: str | None = None) -> pd.DataFrame | None:
    if frame is None:
        return None
    sel = frame[frame["metric"].isin(metrics)]
    return sel if instance is None else sel[sel["instance"] == instance]


def render(name: str) -> None:
    if st.button("← All devices", key="back"):
        del st.query_params["device"]
        st.rerun()
    with session.read_conn() as conn:
        info = q.device_info(conn, name)
    if info.empty:
        st.warning(f"No device named {name!r}.")
        return
    row = info.iloc[0]
    st.title(f"{row['name']}")
    st.caption(
        f"{row['address']} · {row['status']} · {row['sys_descr'] or ''} · last seen {row['last_seen']}"
    )
    c1, c2, c3 = st.columns([2, 1, 1])
    span = RANGES[c1.radio("Range", list(RANGES), index=2, horizontal=True, key="range")]
    overlay = c2.checkbox("Yesterday overlay", value=True, key="overlay")
    live_mode = c3.toggle("Live (5 s)", value=False, key="live")
    if live_mode:
        _live(name)
    end = datetime.now(UTC)
    start = end - span
    metrics = SYSTEM + DISK + IFACE
    with session.read_conn() as conn:
        data = q.series_data(conn, name, metrics, start, end)
        yesterday = (
            q.day_over_day(
                q.series_data(conn, name, metrics, start - timedelta(days=1), end - timedelta(days=1))
            )
            if overlay
            else None
        )
        scores = q.anomalies(conn, name, metrics, start, end)
        trend = q.forecasts(conn, name, metrics, end - timedelta(days=1))
        ifaces = q.interfaces(conn, name)
    st.caption(
        f"Source: {data['source'].iloc[0] if not data.empty else '-'} · {len(data)} points · "
        "dotted: same time yesterday · shaded: expected range · ✕: anomaly · dashed purple: trend forecast"
    )

    def chart(title: str, ms: list[str], unit: str, instance: str | None = None, key: str = "") -> None:
        st.plotly_chart(
            charts.timeseries(
                _pick(data, ms, instance),
                title,
                unit,
                LABELS,
                _pick(yesterday, ms, instance),
                _pick(scores, ms, instance),
                _pick(trend, ms, instance),
            ),
            key=key or title,
        )

    sys_tab, disk_tab, if_tab = st.tabs(["System", "Disks", "Interfaces"])
    with sys_tab:
        a, b = st.columns(2)
        with a:
            chart("CPU", SYSTEM[:3], "%")
        with b:
            chart("Load", SYSTEM[3:6], "")
        a, b = st.columns(2)
        with a:
            chart("Memory", SYSTEM[6:9], "%")
        with b:
            chart("Swap", SYSTEM[9:], "%")
    with disk_tab:
        a, b = st.columns(2)
        with a:
            chart("Disk usage per mount point", ["disk_used_pct"], "%")
        with b:
            chart("Disk busy per device", ["diskio_busy_pct"], "%")
    with if_tab:
        names = {str(r.if_index): f"{r.if_index} {r.name or ''}".strip() for r in ifaces.itertuples()}
        instances = sorted(set(data.loc[data["metric"].isin(IFACE), "instance"]) | set(names), key=_ifkey)
        if not instances:
            st.info("No interface data.")
        else:
            inst = st.selectbox("Interface", instances, format_func=lambda i: names.get(i, i), key="iface")
            a, b = st.columns(2)
            with a:
                chart("Traffic", IFACE[:2], "bit/s", inst, "if_bps")
                chart("Errors", IFACE[4:6], "err/s", inst, "if_err")
            with b:
                chart("Utilisation", IFACE[2:4], "%", inst, "if_util")
                chart("Discards", IFACE[6:8], "pkt/s", inst, "if_disc")
        st.dataframe(ifaces, hide_index=True)


def _ifkey(instance: str) -> tuple[int, str]:
    return (int(instance), "") if instance.isdigit() else (1 << 30, instance)


@st.fragment(run_every=5)
def _live(name: str) -> None:
    session.guard()  # reads Redis, not PostgreSQL: check the login here too
    frame = live.latest(session.redis_client(), name)
    if frame.empty:
        st.info("No live values in Redis for this device yet.")
        return
    values = {(m, i): v for m, i, v in zip(frame["metric"], frame["instance"], frame["value"], strict=True)}
    cols = st.columns(5)
    for col, (label, key) in zip(
        cols,
        [
            ("CPU user %", ("cpu_user_pct", "")),
            ("CPU system %", ("cpu_system_pct", "")),
            ("Load 1", ("load_1", "")),
            ("Memory used %", ("mem_used_pct", "")),
            ("Swap used %", ("swap_used_pct", "")),
        ],
        strict=True,
    ):
        value = values.get(key)
        col.metric(label, "-" if value is None else f"{value:.1f}")
    with st.expander(f"All {len(frame)} live values", expanded=False):
        st.dataframe(frame, hide_index=True)
    st.caption(f"Live at {datetime.now(UTC):%H:%M:%S} UTC")
