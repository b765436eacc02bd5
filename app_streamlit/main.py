"""Streamlit entry point: login first, then the pages the user may see.

Run by ``netvigil app`` (``streamlit run app_streamlit/main.py``). Before login
the navigation holds only the login page, and every page also refuses on its
own (``session.require_login``), so no page shows data to an anonymous user.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_streamlit import session

HERE = Path(__file__).parent
VIEWS = HERE / "views"

st.set_page_config(page_title="NetVigil", page_icon=":material/radar:", layout="wide")

user, role = session.current_user(), session.current_role()
if user is None or role is None:
    page = st.navigation([st.Page(VIEWS / "login.py", title="Log in", icon=":material/login:", default=True)])
else:
    page = st.navigation(
        [
            st.Page(VIEWS / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
            st.Page(VIEWS / "devices.py", title="Devices", icon=":material/dns:"),
            st.Page(VIEWS / "alerts.py", title="Alerts", icon=":material/notifications_active:"),
            st.Page(VIEWS / "events.py", title="Events", icon=":material/receipt_long:"),
            st.Page(VIEWS / "topology.py", title="Topology", icon=":material/hub:"),
            st.Page(VIEWS / "models.py", title="Models", icon=":material/model_training:"),
        ]
    )
    with st.sidebar:
        st.caption(f"Signed in as **{user}** ({role})")
        if st.button("Log out", key="logout"):
            for k in ("user", "role"):
                st.session_state.pop(k, None)
            st.rerun()
page.run()
