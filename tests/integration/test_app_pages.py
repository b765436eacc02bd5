"""Pages run in-process with AppTest against the seeded test database: filters, roles, writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_streamlit import actions
from app_streamlit.auth import AccessDenied
from app_streamlit.seed import purge, seed_all
from netvigil.db import connect
from netvigil.settings import Settings

MAIN = str(Path(__file__).resolve().parents[2] / "app_streamlit" / "main.py")


@pytest.fixture(scope="module")
def seeded(pg_stack: Settings) -> Iterator[tuple[Settings, str, list[str]]]:
    prefix = f"appp{uuid.uuid4().hex[:6]}_"
    with connect(pg_stack) as conn:
        _fleet, keys = seed_all(conn, prefix, datetime.now(UTC), n_devices=4)
        conn.commit()
    st.cache_resource.clear()
    yield pg_stack, prefix, keys
    with connect(pg_stack) as conn:
        purge(conn, prefix)
        conn.execute("DELETE FROM app_audit WHERE actor LIKE %s", (prefix.replace("_", "\\_") + "%",))
        conn.commit()


def _app(prefix: str, role: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.session_state["user"] = f"{prefix}{role}"
    at.session_state["role"] = role
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_overview_renders(seeded: tuple[Settings, str, list[str]]) -> None:
    at = _app(seeded[1], "viewer")
    assert at.title[0].value == "Overview"
    assert [m.label for m in at.metric][:2] == ["Devices", "Up"]


def test_devices_search_filters(seeded: tuple[Settings, str, list[str]]) -> None:
    _, prefix, _ = seeded
    at = _app(prefix, "viewer", "devices")
    at.text_input(key="device_search").input(f"{prefix}00002").run()
    assert not at.exception
    assert list(at.dataframe[0].value["name"]) == [f"{prefix}00002"]
    at.text_input(key="device_search").input("'; DROP TABLE devices; --").run()
    assert at.dataframe[0].value.empty


def test_device_page_renders(seeded: tuple[Settings, str, list[str]]) -> None:
    _, prefix, _ = seeded
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.session_state["user"], at.session_state["role"] = f"{prefix}v", "viewer"
    at.query_params["device"] = f"{prefix}00000"
    at.run()
    at.switch_page("views/devices.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == f"{prefix}00000"
    for span in ("1 hour", "7 days"):
        at.radio(key="range").set_value(span).run()
        assert not at.exception


def test_alert_filters_and_viewer_cannot_act(seeded: tuple[Settings, str, list[str]]) -> None:
    settings, prefix, keys = seeded
    at = _app(prefix, "viewer", "alerts")
    at.text_input(key="alert_device").input(prefix).run()
    at.multiselect(key="alert_sev").set_value(["critical"]).run()
    assert not at.exception
    assert list(at.selectbox(key="alert_selected").options) == [
        f"CRITICAL · {prefix}00000 · {prefix}00000 is down"
    ]
    assert at.button(key="ack").disabled
    with pytest.raises(AccessDenied):
        actions.acknowledge(settings, f"{prefix}viewer", "viewer", keys[0])


def test_operator_adds_note(seeded: tuple[Settings, str, list[str]]) -> None:
    settings, prefix, keys = seeded
    at = _app(prefix, "operator", "alerts")
    at.text_input(key="alert_device").input(f"{prefix}00005").run()  # matches nothing
    at.text_input(key="alert_device").input(prefix).run()
    at.multiselect(key="alert_state").set_value(["acknowledged"]).run()
    at.text_input(key="alert_comment").input("disk order placed").run()
    at.button(key="note").click().run()
    assert not at.exception
    assert any("Note added" in s.value for s in at.success)
    with connect(settings) as conn:
        row = conn.execute(
            "SELECT actor, detail->>'text' FROM alert_events WHERE key = %s AND kind = 'note'", (keys[4],)
        ).fetchone()
    assert row == (f"{prefix}operator", "disk order placed")


def test_events_and_topology(seeded: tuple[Settings, str, list[str]]) -> None:
    _, prefix, _ = seeded
    at = _app(prefix, "viewer", "events")
    at.text_input(key="ev_device").input(prefix).run()
    at.text_input(key="ev_text").input("Failed password").run()
    frame = at.dataframe[0].value
    assert len(frame) > 0 and frame["message"].str.contains("Failed password").all()
    at = _app(prefix, "viewer", "topology")
    at.text_input(key="topo_search").input(prefix).run()
    assert not at.exception


def test_models_promote_admin_only(seeded: tuple[Settings, str, list[str]]) -> None:
    settings, prefix, _ = seeded
    viewer = _app(prefix, "operator", "models")
    assert any("admins only" in i.value for i in viewer.info)
    at = _app(prefix, "admin", "models")
    at.selectbox(key="promote_family").set_value(f"{prefix}cpu").run()
    at.selectbox(key="promote_version").set_value(2).run()
    at.button(key="promote_go").click().run()
    assert not at.exception
    assert any("promoted" in s.value for s in at.success), (at.success, at.warning, at.error, at.button)
    with connect(settings) as conn:
        stages = dict(
            conn.execute(
                "SELECT version, stage FROM model_registry WHERE family = %s", (f"{prefix}cpu",)
            ).fetchall()
        )
        audit = conn.execute(
            "SELECT actor FROM app_audit WHERE action = 'promote' AND detail->>'family' = %s",
            (f"{prefix}cpu",),
        ).fetchone()
    assert stages == {1: "archived", 2: "production"}
    assert audit == (f"{prefix}admin",)


def test_a_live_page_stops_once_its_session_is_gone(seeded: tuple[Settings, str, list[str]]) -> None:
    """A page reading data (as its live fragment does) re-checks a stale session and shows the login refusal."""
    _, prefix, _ = seeded
    at = AppTest.from_file(str(Path(MAIN).with_name("views") / "overview.py"), default_timeout=60)
    at.session_state["user"] = f"{prefix}viewer"
    at.session_state["role"] = "viewer"
    at.session_state["sid"] = 2**62  # a session row that does not exist (logged out elsewhere)
    at.session_state["sid_checked"] = datetime(2000, 1, 1, tzinfo=UTC)
    at.run()
    assert not at.exception, at.exception
    assert "Please log in to see this page." in [e.value for e in at.error]
    assert "user" not in at.session_state and not at.metric
