"""Topology: the LLDP map coloured by device status; selecting a device opens its page."""

from __future__ import annotations

import streamlit as st

from app_streamlit import charts, session
from app_streamlit.data import topology as q


@st.cache_data(show_spinner=False, max_entries=32)
def _layout(names: tuple[str, ...], links: tuple[tuple[str, str], ...]) -> dict[str, tuple[float, float]]:
    """The spring layout is the page's costliest step; the same map is laid out once."""
    return q.layout(list(names), list(links))


session.require_login()
st.title("Topology")
c1, c2 = st.columns([3, 1])
search = c1.text_input("Show links of devices containing", key="topo_search")
limit = int(c2.number_input("Max links", min_value=10, max_value=2000, value=400, step=50, key="topo_limit"))
with session.read_conn() as conn:
    nodes, edges = q.topology(conn, search, limit)
if nodes.empty:
    st.info("No LLDP neighbours known yet.")
    st.stop()
pos = _layout(tuple(nodes["name"]), tuple(zip(edges["source"], edges["target"], strict=True)))
st.caption(f"{len(nodes)} devices, {len(edges)} links. Click a device to open it.")
event = st.plotly_chart(
    charts.network(nodes, edges, pos), on_select="rerun", selection_mode="points", key="topo_chart"
)
points = event.selection.points if event else []
known = set(nodes.loc[nodes["status"] != "external", "name"])
picked = next((p.get("customdata") for p in points if p.get("customdata") in known), None)
choice = st.selectbox("Open device", ["", *sorted(known)], key="topo_open")
target = picked or choice
if target:
    st.switch_page("views/devices.py", query_params={"device": str(target)})
