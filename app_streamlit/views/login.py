"""Login page: bcrypt-checked against the users in settings (app.users)."""

from __future__ import annotations

import logging

import streamlit as st

from app_streamlit import login_state, session
from app_streamlit.auth import authenticate

log = logging.getLogger(__name__)

st.title("NetVigil")
st.caption("Network and server monitoring. Log in to continue.")
users = session.settings().app.users
notice = st.session_state.get(login_state.NOTICE)
if isinstance(notice, str):
    st.info(notice)
if not users:
    st.warning("No users are configured (app.users in the config file). Use `netvigil app hash-password`.")
with st.form("login"):
    name = st.text_input("User", key="login_user")
    password = st.text_input("Password", type="password", key="login_password")
    submitted = st.form_submit_button("Log in")
if submitted:
    role = authenticate(users, name, password)
    if role is None:
        log.warning("failed login for user %r", name)
        st.error("Unknown user or wrong password.")
    else:
        remembered = login_state.begin(session.settings(), name, role)
        log.info("user %s logged in (%s)%s", name, role, "" if remembered else ", not remembered")
        st.rerun()
