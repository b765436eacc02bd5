"""Streamlit entry point: login first, then the pages the user may see.

Run by ``netvigil app`` (``streamlit run app_streamlit/server.py``, which
serves this script). Before login the navigation holds only the login page,
and every page also refuses on its own (``session.require_login``), so no
page shows data to an anonymous user. A login is remembered across reloads
and tabs by a server-side session named in an HttpOnly cookie
(``login_state``); it is checked here before any page runs.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_streamlit import login_state, session

HERE = Path(__file__).parent
VIEWS = HERE / "views"

st.set_page_config(page_title="NetVigil", page_icon=":material/radar:", layout="wide")

login_state.establish(session.settings())
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
        if st.session_state.get("sid") is None:
            st.caption(
                "This login is not remembered (session store unavailable): a reload asks for the password again."
            )
        if st.button("Log out", key="logout"):
            login_state.end(session.settings())
            st.rerun()
login_state.render_scripts(session.settings())
page.run()
