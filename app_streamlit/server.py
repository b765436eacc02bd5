"""What ``netvigil app`` serves: the Streamlit pages (main.py) plus the session cookie routes.

``streamlit run`` finds the ``app = st.App(...)`` below and serves it with
its own Starlette/uvicorn server; ``routes`` is Streamlit's supported way to
add HTTP endpoints next to the pages (see session_routes.py for why the
cookie needs one).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_streamlit.session_routes import routes

app = st.App(Path(__file__).with_name("main.py"), routes=routes())
