"""Delivery to real local receivers: an SMTP server (aiosmtpd) and HTTP servers on 127.0.0.1.

Every channel is sent to a loopback server, never the internet: Telegram's
API base and every webhook URL point at the local receiver.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from netvigil.records import Alert
from streams.alerting.engine import Notification
from streams.notify.config import parse_notify_config
from streams.notify.dispatch import Delivery, Dispatcher
from streams.notify.receiver import LocalReceiver

TOKEN = "987654:telegram-secret-token-xyz"


class MailBox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    with socket.socket() as s:  # aiosmtpd's readiness check cannot use port 0: pick a free one
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield box, port
    finally:
        ctl.stop()


def alert(key: str = "cpu/r1/") -> Alert:
    now = time.time()
    return Alert(
        key=key,
        rule="cpu",
        device="r1",
        severity="critical",
        state="open",
        summary="CPU high",
        started=now,
        updated=now,
    )


async def deliver(
    config: dict[str, Any], notes: list[Notification], env: dict[str, str] | None = None
) -> list[Delivery]:
    cfg = parse_notify_config(config, environ=env or {})
    results: list[Delivery] = []
    d = Dispatcher(cfg, results.append)
    await d.start()
    for n in notes:
        d.submit(n)
    await d.stop(drain=20)
    return results


async def test_every_channel_reaches_its_local_receiver(
    smtp: tuple[MailBox, int], hook: LocalReceiver
) -> None:
    box, port = smtp
    config = {
        "receivers": [
            {"name": "mail", "type": "email", "host": "127.0.0.1", "port": port, "to": ["noc@example.org"]},
            {"name": "am", "type": "webhook", "url": f"{hook.url}/am"},
            {"name": "slack", "type": "slack", "url": f"{hook.url}/slack/T000/B000/XXXXXXXXXXXX"},
            {"name": "teams", "type": "teams", "url": f"{hook.url}/teams", "card": "adaptive"},
            {"name": "tg", "type": "telegram", "api_base": hook.url, "token": "${TG}", "chat_id": "42"},
            {
                "name": "sms",
                "type": "sms",
                "url": f"{hook.url}/sms?to={{to}}",
                "auth_header": "Bearer ${SMSKEY}",
                "to": ["+15550100"],
            },
        ],
        "routes": [{"receivers": ["mail", "am", "slack", "teams", "tg", "sms"]}],
    }
    results = await deliver(
        config, [Notification(alert(), "firing", "opened")], {"TG": TOKEN, "SMSKEY": "sms-secret-1234"}
    )
    assert sorted((r.receiver, r.ok) for r in results) == [
        ("am", True), ("mail", True), ("slack", True), ("sms", True), ("teams", True), ("tg", True),
    ]  # fmt: skip
    got = {r.path.split("?")[0].split("/")[1]: r for r in hook.requests}
    assert got["am"].body["version"] == "4" and got["am"].body["alerts"][0]["labels"]["alertname"] == "cpu"
    assert got["slack"].body["text"].startswith("[NetVigil CRITICAL]")
    assert got["teams"].body["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert got[f"bot{TOKEN}"].body["chat_id"] == "42"
    assert (
        got["sms"].headers["Authorization"] == "Bearer sms-secret-1234"
        and got["sms"].body["to"] == "+15550100"
    )
    (mail,) = box.messages
    assert mail["To"] == "noc@example.org" and mail["Subject"].startswith("[NetVigil CRITICAL] CPU high")
    assert all(TOKEN not in repr(r) for r in results)


async def test_retries_with_backoff_then_success(hook: LocalReceiver) -> None:
    hook.fail_first = 2
    config = {
        "retry": {"attempts": 4, "backoff": 0.05, "factor": 2},
        "receivers": [{"name": "am", "type": "webhook", "url": f"{hook.url}/am"}],
        "routes": [{"receivers": ["am"]}],
    }
    (r,) = await deliver(config, [Notification(alert(), "firing")])
    assert r.ok and r.attempts == 3 and len(hook.requests) == 1


async def test_failures_are_reported_masked(hook: LocalReceiver) -> None:
    hook.status = 404
    config = {
        "retry": {"attempts": 3, "backoff": 0.01},
        "receivers": [
            {"name": "tg", "type": "telegram", "api_base": hook.url, "token": "${TG}", "chat_id": "1"},
            {
                "name": "dead",
                "type": "telegram",
                "api_base": "http://127.0.0.1:9",
                "token": "${TG}",
                "chat_id": "1",
            },
        ],
        "routes": [{"receivers": ["tg", "dead"]}],
    }
    results = {r.receiver: r for r in await deliver(config, [Notification(alert(), "firing")], {"TG": TOKEN})}
    assert (
        not results["tg"].ok and results["tg"].attempts == 1 and "HTTP 404" in results["tg"].error
    )  # no retry on 4xx
    assert not results["dead"].ok and results["dead"].attempts == 3  # connection refused is retried
    for r in results.values():
        assert TOKEN not in r.error and "telegram-secret" not in repr(r)


async def test_slow_receiver_does_not_block_submit(hook: LocalReceiver) -> None:
    hook.delay = 1.0
    cfg = parse_notify_config(
        {
            "workers": 2,
            "receivers": [{"name": "am", "type": "webhook", "url": f"{hook.url}/am"}],
            "routes": [{"receivers": ["am"]}],
        },
        environ={},
    )
    d = Dispatcher(cfg)
    await d.start()
    t0 = time.monotonic()
    for i in range(20):
        d.submit(Notification(alert(f"k{i}"), "firing"))
    assert time.monotonic() - t0 < 0.1  # queued, not sent inline
    await asyncio.sleep(0)
    await d.stop(drain=0)
