"""The app as a user meets it: `netvigil app` served headless, driven by Debian's Chromium.

Opens every page after logging in, checks no exception box is shown, opens a
device page, acknowledges an alert through the UI and finds the
acknowledgement (alerts, alert_events, app_audit) in the database.
Screenshots of each page land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import BrowserContext, Page, sync_playwright

from app_streamlit.auth import hash_password
from app_streamlit.seed import purge, seed_all
from app_streamlit.tokens import COOKIE_NAME, new_token, token_hash
from netvigil.db import connect
from netvigil.settings import Settings, project_root
from netvigil.stack.base import apt_install

SHOTS = project_root() / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "browser-test-pw"
PAGES = ["Overview", "Devices", "Alerts", "Events", "Topology", "Models"]
# settings, app url, name prefix, alert keys, the app's log file
Served = tuple[Settings, str, str, list[str], Path]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(pg_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    apt_install(["chromium", "chromium-driver"], [CHROMIUM])
    prefix = f"appb{uuid.uuid4().hex[:6]}_"
    with connect(pg_stack) as conn:
        _fleet, keys = seed_all(conn, prefix, datetime.now(UTC), n_devices=6)
        conn.commit()
    digest = hash_password(PASSWORD, rounds=4)
    config = tmp_path_factory.mktemp("app") / "netvigil.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "app": {
                    "users": {
                        f"{prefix}op": {"password_hash": digest, "role": "operator"},
                        f"{prefix}viewer": {"password_hash": digest, "role": "viewer"},
                    }
                }
            }
        )
    )
    port = _free_port()
    log = (tmp_path_factory.mktemp("applog") / "app.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("netvigil")),
            "--config",
            str(config),
            "app",
            "--port",
            str(port),
        ],
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, f"netvigil app exited: {Path(log.name).read_text()[-2000:]}"
            assert time.monotonic() < deadline, "netvigil app did not become healthy in 60 s"
            time.sleep(0.5)
        yield pg_stack, url, prefix, keys, Path(log.name)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
        log.close()
        with connect(pg_stack) as conn:
            purge(conn, prefix)
            conn.execute("DELETE FROM app_audit WHERE actor LIKE %s", (prefix.replace("_", "\\_") + "%",))
            conn.execute(
                "DELETE FROM app_sessions WHERE username LIKE %s", (prefix.replace("_", "\\_") + "%",)
            )
            conn.commit()


def _settle(page: Page) -> None:
    """Wait until Streamlit has finished the script run (its running indicator is gone)."""
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=30000)
    page.wait_for_timeout(700)  # charts draw after the run ends


def _no_exception(page: Page, where: str) -> None:
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0, f"exception shown on {where}"
    assert page.locator("[data-testid='stAlertContentError']").count() == 0, f"error shown on {where}"


def _login(page: Page, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="User").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("h1:has-text('Overview')", timeout=30000)


def _open(page: Page, name: str) -> None:
    page.locator("[data-testid='stSidebarNavLink']", has_text=name).click()
    page.wait_for_selector(f"h1:has-text('{name}')", timeout=30000)


def test_every_page_then_acknowledge(served: Served) -> None:
    settings, url, prefix, keys, _log = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.goto(url)
        page.wait_for_selector("text=Log in", timeout=30000)
        page.screenshot(path=SHOTS / "login.png")
        _login(page, url, f"{prefix}op")
        for name in PAGES:
            if name != "Overview":
                _open(page, name)
            _no_exception(page, name)
            page.screenshot(path=SHOTS / f"{name.lower()}.png")

        # A device page, opened from the inventory.
        _open(page, "Devices")
        page.get_by_role("textbox", name="Search name, address, description or tags").fill(prefix)
        page.keyboard.press("Enter")
        page.wait_for_timeout(1500)
        page.locator("[data-testid='stSelectbox']", has_text="Open device").click()
        page.get_by_role("option", name=f"{prefix}00000").click()
        page.wait_for_selector(f"h1:has-text('{prefix}00000')", timeout=30000)
        _no_exception(page, "device page")
        page.screenshot(path=SHOTS / "device.png")
        page.get_by_role("tab", name="Interfaces").click()
        _settle(page)
        page.screenshot(path=SHOTS / "device_interfaces.png")

        # Clicking a device on the LLDP map opens its page.
        _open(page, "Topology")
        page.get_by_role("textbox", name="Show links of devices containing").fill(prefix)
        page.keyboard.press("Enter")
        _settle(page)
        page.screenshot(path=SHOTS / "topology.png")
        point = page.locator(".js-plotly-plot g.points path.point").last
        box = point.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(f"h1:has-text('{prefix}0')", timeout=30000)
        _no_exception(page, "device page from topology")

        # Acknowledge the critical alert of device 0 through the console.
        _open(page, "Alerts")
        page.get_by_role("textbox", name="Device contains").fill(f"{prefix}00000")
        page.keyboard.press("Enter")
        page.get_by_text(f"CRITICAL · {prefix}00000 · {prefix}00000 is down").wait_for(timeout=30000)
        page.get_by_role("textbox", name="Comment / note").fill("on it")
        page.keyboard.press("Enter")
        page.wait_for_timeout(800)
        page.get_by_role("button", name="Acknowledge", exact=True).click()
        page.get_by_text(f"Acknowledged: CRITICAL · {prefix}00000").wait_for(timeout=30000)
        _settle(page)
        page.screenshot(path=SHOTS / "alerts_acknowledged.png")
        browser.close()

    with connect(settings) as conn:
        state = conn.execute(
            "SELECT state, acknowledged_by FROM alerts WHERE key = %s", (keys[0],)
        ).fetchone()
        event = conn.execute(
            "SELECT actor, detail->>'comment' FROM alert_events WHERE key = %s AND kind = 'ack'", (keys[0],)
        ).fetchone()
        audit = conn.execute(
            "SELECT actor FROM app_audit WHERE action = 'acknowledge' AND detail->>'alert' = %s", (keys[0],)
        ).fetchone()
    assert state == ("acknowledged", f"{prefix}op")
    assert event == (f"{prefix}op", "on it")
    assert audit == (f"{prefix}op",)


def test_viewer_cannot_act(served: Served) -> None:
    _settings, url, prefix, _keys, _log = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        _login(page, url, f"{prefix}viewer")
        _open(page, "Alerts")
        page.wait_for_selector("text=can look but not act", timeout=30000)
        assert page.get_by_role("button", name="Acknowledge", exact=True).is_disabled()
        _open(page, "Models")
        page.wait_for_selector("text=Promotion is for admins only", timeout=30000)
        browser.close()


def _session_cookie(context: BrowserContext, present: bool = True) -> str:
    """The session cookie's value once the browser holds it (or "" once it is gone)."""
    deadline = time.monotonic() + 15
    while True:
        values = [c.get("value", "") for c in context.cookies() if c.get("name") == COOKIE_NAME]
        if bool(values) == present:
            return values[0] if values else ""
        assert time.monotonic() < deadline, f"session cookie {'never set' if present else 'not cleared'}"
        time.sleep(0.25)


def _login_form(page: Page, where: str) -> None:
    page.get_by_role("textbox", name="User").wait_for(timeout=30000)
    assert page.locator("h1:has-text('Overview')").count() == 0, f"still logged in after {where}"


def test_login_survives_reload_until_logout(served: Served) -> None:
    settings, url, prefix, _keys, log = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        _login(page, url, f"{prefix}op")
        token = _session_cookie(context)
        cookie = next(c for c in context.cookies() if c.get("name") == COOKIE_NAME)
        assert (
            cookie.get("httpOnly") is True
            and cookie.get("sameSite") == "Strict"
            and cookie.get("path") == "/"
        )
        assert COOKIE_NAME not in page.evaluate("document.cookie"), "page JavaScript can read the token"
        assert token not in page.url and token not in page.content()

        # A reload, and a second tab straight onto another page: still logged in.
        _open(page, "Alerts")
        page.reload()
        page.wait_for_selector("h1:has-text('Alerts')", timeout=30000)
        _no_exception(page, "Alerts after reload")
        page.screenshot(path=SHOTS / "session_after_reload.png")
        other = context.new_page()
        other.goto(f"{url}/events")
        other.wait_for_selector("h1:has-text('Events')", timeout=30000)
        assert other.get_by_text(f"Signed in as {prefix}op").count() == 1

        # Logout ends the session on the server and drops the cookie.
        page.get_by_role("button", name="Log out").click()
        _login_form(page, "logout")
        page.get_by_text("You are logged out.").wait_for(timeout=10000)
        _session_cookie(context, present=False)
        page.reload()
        _login_form(page, "logout and reload")
        page.screenshot(path=SHOTS / "session_after_logout_reload.png")
        other.reload()
        _login_form(other, "logout in another tab")
        with connect(settings) as conn:
            assert (
                conn.execute(
                    "SELECT 1 FROM app_sessions WHERE token_hash = %s", (token_hash(token),)
                ).fetchone()
                is None
            )

        # The old token put back by hand (a stolen copy) and a forged one: the login form.
        for value, what in ((token, "replayed logged-out cookie"), (new_token(), "forged cookie")):
            context.add_cookies([{"name": COOKIE_NAME, "value": value, "url": url}])
            page.goto(url)
            _login_form(page, what)
        context.clear_cookies()

        # Idle past the limit (last use 13 h ago; the limit is 12 h): the login form.
        _login(page, url, f"{prefix}op")
        stale = _session_cookie(context)
        with connect(settings) as conn:
            conn.execute(
                "UPDATE app_sessions SET last_seen = now() - interval '13 hours' WHERE token_hash = %s",
                (token_hash(stale),),
            )
            conn.commit()
        page.reload()
        _login_form(page, "idle expiry")
        page.get_by_text("Your session has ended. Please log in again.").wait_for(timeout=10000)
        page.screenshot(path=SHOTS / "session_expired.png")
        browser.close()
    text = log.read_text()
    for secret in (token, stale, PASSWORD):
        assert secret not in text, "a token or password reached the app log"
