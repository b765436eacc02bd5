"""Alerts console: filtered live list grouped by root cause, timeline, and the operator's actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import streamlit as st

from app_streamlit import actions, session
from app_streamlit.auth import AccessDenied, can
from app_streamlit.data import alerts as q

user, role = session.require_login()
st.title("Alerts")
flash = st.session_state.pop("alerts_flash", None)
if flash:
    st.success(flash)

f1, f2, f3, f4, f5 = st.columns([2, 2, 2, 2, 1])
severities = f1.multiselect("Severity", list(q.SEVERITIES), key="alert_sev")
states = f2.multiselect("State", list(q.STATES), default=["open", "acknowledged"], key="alert_state")
device = f3.text_input("Device contains", key="alert_device")
tag = f4.text_input("Tag (key or key=value)", key="alert_tag")
live = f5.toggle("Live", value=True, key="alert_live")


@st.fragment(run_every=10 if live else None)
def alert_list() -> None:
    with session.read_conn() as conn:
        frame = q.alert_list(conn, severities, states, device, tag)
    st.session_state["alert_keys"] = list(frame["key"])
    st.session_state["alert_labels"] = {
        r.key: f"{r.severity.upper()} · {r.device} · {r.summary}" for r in frame.itertuples()
    }
    st.caption(f"{len(frame)} alerts · updated {datetime.now(UTC):%H:%M:%S} UTC")
    if frame.empty:
        st.info("No alerts match.")
        return
    cols = [
        "severity",
        "state",
        "device",
        "summary",
        "kind",
        "started",
        "acknowledged_by",
        "false_positive",
        "key",
    ]
    for root, group in q.group_by_root_cause(frame):
        head = group.iloc[0]
        extra = f" · {len(group) - 1} related" if len(group) > 1 else ""
        with st.expander(
            f"{head['severity'].upper()} · {head['device']} · {head['summary']}{extra}",
            expanded=len(group) > 1,
        ):
            st.dataframe(group[cols], hide_index=True, key=f"group_{root}")


alert_list()

keys = st.session_state.get("alert_keys", [])
st.divider()
if not keys:
    st.stop()
labels = st.session_state.get("alert_labels", {})
key = st.selectbox("Alert", keys, key="alert_selected", format_func=lambda k: labels.get(k, k))
st.caption(f"Key: `{key}`")
with session.read_conn() as conn:
    timeline = q.alert_timeline(conn, key)
left, right = st.columns([3, 2])
with left:
    st.subheader("Timeline")
    if timeline.empty:
        st.caption("No events recorded for this alert.")
    for ev in timeline.itertuples():
        info = json.loads(ev.detail) if ev.detail else {}
        text = " · ".join(f"{k}: {v}" for k, v in info.items() if k not in ("output",))
        states_txt = f" {ev.from_state or ''} → {ev.to_state}" if ev.to_state else ""
        st.markdown(f"**{ev.ts:%Y-%m-%d %H:%M:%S}** `{ev.kind}` by {ev.actor}{states_txt} {text}")
        if info.get("output"):
            st.code(str(info["output"]), language="text")

with right:
    st.subheader("Actions")
    allowed = can(role, "acknowledge")
    if not allowed:
        st.info("Your role (viewer) can look but not act.")

    def run(label: str, fn: Callable[[], bool]) -> None:
        try:
            ok = fn()
        except (AccessDenied, ValueError) as exc:
            st.error(str(exc))
            return
        if ok:  # rerun so the list and timeline show the change; the message survives the rerun
            st.session_state["alerts_flash"] = f"{label}: {labels.get(key, key)}"
            st.rerun()
        else:
            st.warning(f"{label}: nothing changed (alert not open or unknown)")

    comment = st.text_input("Comment / note", key="alert_comment", disabled=not allowed)
    b1, b2, b3 = st.columns(3)
    if b1.button("Acknowledge", key="ack", disabled=not allowed):
        run("Acknowledged", lambda: actions.acknowledge(session.settings(), user, role, key, comment))
    if b2.button("Add note", key="note", disabled=not allowed):
        run("Note added", lambda: actions.add_note(session.settings(), user, role, key, comment))
    if b3.button("False positive", key="fp", disabled=not allowed):
        run(
            "Marked false positive",
            lambda: actions.mark_false_positive(session.settings(), user, role, key, comment),
        )
    with st.form("silence"):
        st.markdown("**Silence (maintenance window)**")
        hours = st.number_input("Hours", min_value=0.25, max_value=24.0 * 14, value=2.0, step=0.25)
        scope = st.radio("Match", ["this device", "this device and rule"], horizontal=True)
        submit = st.form_submit_button("Create silence", disabled=not allowed)
    if submit:
        with session.read_conn() as conn:
            row = q.alert_by_key(conn, key)
        if row.empty:
            st.error("Alert no longer exists.")
        else:
            r = row.iloc[0]
            matcher = {"device": r["device"]} | ({"rule": r["rule"]} if scope.endswith("rule") else {})
            now = datetime.now(UTC)
            try:
                sid = actions.create_silence(
                    session.settings(),
                    user,
                    role,
                    matcher,
                    now,
                    now + timedelta(hours=float(hours)),
                    comment,
                    alert_key=key,
                )
                st.success(
                    f"Silence {sid} created until {now + timedelta(hours=float(hours)):%Y-%m-%d %H:%M} UTC"
                )
            except (AccessDenied, ValueError) as exc:
                st.error(str(exc))

with st.expander("Active silences"), session.read_conn() as conn:
    st.dataframe(q.active_silences(conn, datetime.now(UTC)), hide_index=True)
