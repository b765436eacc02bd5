"""Devices: searchable inventory; with ``?device=NAME`` the device's own page."""

from __future__ import annotations

import streamlit as st

from app_streamlit import device_view, session
from app_streamlit.data import devices as q

session.require_login()

selected = st.query_params.get("device")
if selected:
    device_view.render(selected)
    st.stop()

st.title("Devices")
c1, c2 = st.columns([3, 2])
search = c1.text_input("Search name, address, description or tags", key="device_search")
status = c2.multiselect("Status", ["up", "down", "unreachable", "degraded", "unknown"], key="device_status")
with session.read_conn() as conn:
    inv = q.inventory(conn, search, status)
st.caption(f"{len(inv)} devices shown" + (" (first 500)" if len(inv) >= 500 else ""))
event = st.dataframe(
    inv,
    hide_index=True,
    height=460,
    on_select="rerun",
    selection_mode="single-row",
    key="inventory_table",
    column_config={"last_seen": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")},
)
rows = event.selection.rows if event else []
choice = st.selectbox("Open device", ["", *list(inv["name"])], key="open_device")
target = inv.iloc[rows[0]]["name"] if rows else choice
if target:
    st.query_params["device"] = str(target)
    st.rerun()
