"""Models: registry versions with evaluation metrics, which version each family uses, promote (admin)."""

from __future__ import annotations

import streamlit as st

from app_streamlit import actions, session
from app_streamlit.auth import AccessDenied, can
from app_streamlit.data import models as q

user, role = session.require_login()
st.title("Models")
with session.read_conn() as conn:
    reg = q.registry(conn)
    prod = q.in_production(conn)
st.subheader("In production")
if prod.empty:
    st.info("No family has a production model yet.")
else:
    st.dataframe(prod, hide_index=True)
st.subheader("Registry")
st.dataframe(q.metric_columns(reg), hide_index=True)

st.subheader("Promote")
if not can(role, "promote"):
    st.info("Promotion is for admins only.")
    st.stop()
if reg.empty:
    st.stop()
family = st.selectbox("Family", sorted(set(reg["family"])), key="promote_family")
with st.form("promote"):
    versions = sorted(reg.loc[reg["family"] == family, "version"].astype(int), reverse=True)
    version = st.selectbox("Version", versions, key="promote_version")
    go = st.form_submit_button("Promote to production", key="promote_go")
if go:
    try:
        ok = actions.promote(session.settings(), user, role, str(family), int(version))
    except AccessDenied as exc:
        st.error(str(exc))
    else:
        (st.success if ok else st.warning)(f"{family} v{version} " + ("promoted" if ok else "not found"))
