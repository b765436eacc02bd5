"""Page logic with Streamlit's AppTest: login flow and refusal without login (no database needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
import yaml
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from app_streamlit.auth import hash_password, verify_password
from app_streamlit.cli import app as app_cmd

APP = Path(__file__).resolve().parents[2] / "app_streamlit"
VIEWS = ["overview", "devices", "alerts", "events", "topology", "models"]


@pytest.fixture(autouse=True)
def users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    digest = hash_password("pw", rounds=4)
    cfg = tmp_path / "netvigil.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "app": {
                    "users": {
                        "ann": {"password_hash": digest, "role": "operator"},
                        "vic": {"password_hash": digest, "role": "viewer"},
                    }
                }
            }
        )
    )
    monkeypatch.setenv("NETVIGIL_CONFIG", str(cfg))
    # No session store here: a closed port, so a login is not remembered (and never
    # lands in whatever database happens to listen on the default port).
    monkeypatch.setenv("NETVIGIL_POSTGRES__DSN", "postgresql://nv:nv@127.0.0.1:9/nv")
    st.cache_resource.clear()  # session.settings() is cached per process
    yield
    st.cache_resource.clear()


def _login_page() -> AppTest:
    at = AppTest.from_file(str(APP / "views" / "login.py"), default_timeout=30)
    return at.run()


def test_main_shows_only_login_before_login() -> None:
    at = AppTest.from_file(str(APP / "main.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "NetVigil"
    assert [t.label for t in at.text_input] == ["User", "Password"]
    assert "Overview" not in [t.value for t in at.title]


def test_wrong_password_is_refused() -> None:
    at = _login_page()
    at.text_input(key="login_user").input("ann")
    at.text_input(key="login_password").input("nope")
    at.button[0].click().run()
    assert not at.exception
    assert "Unknown user or wrong password." in [e.value for e in at.error]
    assert "user" not in at.session_state


def test_login_sets_user_and_role() -> None:
    at = _login_page()
    at.text_input(key="login_user").input("vic")
    at.text_input(key="login_password").input("pw")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert at.session_state["user"] == "vic" and at.session_state["role"] == "viewer"
    assert "sid" not in at.session_state and "handoff" not in at.session_state  # store down: not remembered


def test_store_down_login_still_works_but_says_not_remembered() -> None:
    at = AppTest.from_file(str(APP / "main.py"), default_timeout=30)
    at.session_state["user"] = "ann"
    at.session_state["role"] = "operator"
    at.run()
    assert not at.exception
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "not remembered" in captions and "ann" in captions
    at.sidebar.button(key="logout").click().run()
    assert not at.exception and "user" not in at.session_state
    assert "You are logged out." in [i.value for i in at.info]


def test_no_users_configured_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("app: {users: {}}\n")
    monkeypatch.setenv("NETVIGIL_CONFIG", str(empty))
    st.cache_resource.clear()
    at = _login_page()
    assert "No users are configured" in at.warning[0].value


@pytest.mark.parametrize("view", VIEWS)
def test_every_page_refuses_without_login(view: str) -> None:
    at = AppTest.from_file(str(APP / "views" / f"{view}.py"), default_timeout=30).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Please log in to see this page."]
    assert not at.dataframe and not at.button


@pytest.mark.parametrize("view", VIEWS)
def test_every_page_refuses_unknown_role(view: str) -> None:
    at = AppTest.from_file(str(APP / "views" / f"{view}.py"), default_timeout=30)
    at.session_state["user"] = "mallory"
    at.session_state["role"] = "superuser"
    at.run()
    assert [e.value for e in at.error] == ["Please log in to see this page."]


def test_hash_password_command() -> None:
    result = CliRunner().invoke(app_cmd, ["hash-password", "--password", "pw", "--rounds", "4"])
    assert result.exit_code == 0
    assert verify_password("pw", result.output.strip())
