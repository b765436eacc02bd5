"""Events: trap and syslog search by time, device, severity and text, with CSV export."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from app_streamlit import session
from app_streamlit.data import events as q

session.require_login()
st.title("Events")

PRESETS = {
    "1 hour": timedelta(hours=1),
    "24 hours": timedelta(days=1),
    "7 days": timedelta(days=7),
    "30 days": timedelta(days=30),
    "custom": None,
}
c1, c2, c3 = st.columns([2, 1, 2])
preset = c1.radio("Time range", list(PRESETS), index=1, horizontal=True, key="ev_range")
kind = c2.selectbox("Kind", ["all", "trap", "syslog"], key="ev_kind")
now = datetime.now(UTC)
if PRESETS[preset] is None:
    days = c3.date_input("Days (UTC)", value=(now.date() - timedelta(days=1), now.date()), key="ev_days")
    first, last = days if isinstance(days, tuple) and len(days) == 2 else (now.date(), now.date())
    start = datetime.combine(first, time.min, UTC)
    end = datetime.combine(last, time.min, UTC) + timedelta(days=1)
else:
    start, end = now - PRESETS[preset], now  # type: ignore[operator]
d1, d2, d3 = st.columns([2, 1, 3])
device = d1.text_input("Device contains", key="ev_device")
sev = d2.selectbox("Syslog severity at or above", ["any", *q.SYSLOG_SEVERITIES], key="ev_sev")
text = d3.text_input("Text contains", key="ev_text")

with session.read_conn() as conn:
    frame = q.search_events(
        conn,
        start,
        end,
        kind,  # type: ignore[arg-type]  # the selectbox offers only Kind values
        device,
        None if sev == "any" else q.SYSLOG_SEVERITIES.index(sev),
        text,
    )
st.caption(
    f"{len(frame)} events from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    + (" (newest 2000)" if len(frame) >= 2000 else "")
)
shown = frame[["ts", "kind", "device", "severity_name", "app", "message"]]
st.dataframe(
    shown,
    hide_index=True,
    height=520,
    column_config={
        "ts": st.column_config.DatetimeColumn("time", format="YYYY-MM-DD HH:mm:ss"),
        "severity_name": "severity",
        "message": st.column_config.TextColumn(width="large"),
    },
)
st.download_button(
    "Export CSV",
    q.to_csv(shown),
    file_name=f"netvigil-events-{now:%Y%m%d-%H%M}.csv",
    mime="text/csv",
    key="ev_csv",
)
