"""Notification config, routing, payloads and secret masking (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netvigil.records import Alert
from streams.notify import payloads
from streams.notify.config import NotifyConfigError, load_notify_config, parse_notify_config

ROOT = Path(__file__).resolve().parents[2]


def alert(**kw: object) -> Alert:
    base: dict[str, object] = dict(
        key="cpu/r1/",
        rule="cpu",
        device="r1",
        severity="major",
        state="open",
        summary="CPU 97% on r1",
        value=97.0,
        threshold=90.0,
        started=1_700_000_000.0,
        updated=1_700_000_060.0,
        tags={"team": "net"},
    )
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


CONFIG = {
    "external_url": "http://nms.example/",
    "receivers": [
        {"name": "mail", "type": "email", "to": ["noc@x"], "password": "${SMTP_PW}", "username": "u"},
        {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/am"},
        {"name": "tg", "type": "telegram", "token": "${TG_TOKEN}", "chat_id": "42"},
        {
            "name": "sms",
            "type": "sms",
            "url": "http://gw/send?to={to}&msg={text}",
            "method": "GET",
            "auth_header": "Bearer ${SMS_KEY}",
            "to": ["+1 555"],
        },
        {
            "name": "slack",
            "type": "slack",
            "url": "https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnop",
        },
    ],
    "routes": [
        {"match": {"severity": ["critical"]}, "receivers": ["sms"], "continue": True},
        {
            "match": {"min_severity": "major", "tags": {"team": "net"}},
            "receivers": ["mail", "hook"],
            "continue": False,
        },
        {"match": {}, "receivers": ["tg"]},
        {"match": {"escalated": True}, "receivers": ["slack"]},
    ],
}
ENV = {"SMTP_PW": "hunter2-pw", "TG_TOKEN": "123456:ABCDEFsecrettoken", "SMS_KEY": "smskey-0987"}


def test_shipped_config_is_valid() -> None:
    cfg = load_notify_config(ROOT / "config" / "notifications.yaml", environ={})
    assert set(cfg.receivers) == {"noc-email", "alertmanager-webhook"}


def test_secrets_from_environment_and_masking() -> None:
    cfg = parse_notify_config(CONFIG, environ=ENV)
    assert cfg.receivers["tg"].token == ENV["TG_TOKEN"]
    assert cfg.receivers["sms"].auth_header == "Bearer smskey-0987"
    text = f"POST https://api.telegram.org/bot{ENV['TG_TOKEN']}/sendMessage failed; pw={ENV['SMTP_PW']}"
    masked = cfg.mask(text)
    assert ENV["TG_TOKEN"] not in masked and ENV["SMTP_PW"] not in masked and "<secret>" in masked
    assert "abcdefghijklmnop" not in cfg.mask(cfg.receivers["slack"].url)
    assert "secrettoken" not in repr(cfg.routes)


def test_missing_environment_variable_is_a_clear_error() -> None:
    with pytest.raises(NotifyConfigError, match=r"receiver 'mail'.*SMTP_PW is not set"):
        parse_notify_config(CONFIG, environ={})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"receivers": [{"name": "x", "type": "pager"}]}, "receiver 'x'"),
        ({"receivers": [{"name": "x", "type": "webhook", "url": "u", "colour": 1}]}, "receiver 'x'"),
        ({"receivers": [{"name": "x", "type": "webhook"}]}, "key 'url' is required"),
        ({"routes": [{"receivers": ["nobody"]}]}, "unknown receiver 'nobody'"),
        ({"routes": [{"match": {"severity": ["fatal"]}, "receivers": []}]}, "unknown severity 'fatal'"),
        ({"routing": []}, "routing"),
    ],
)
def test_invalid_configs(change: dict, message: str) -> None:
    with pytest.raises(NotifyConfigError, match=message):
        parse_notify_config(change, environ={})


def test_routing_by_severity_tags_continue_and_escalation() -> None:
    cfg = parse_notify_config(CONFIG, environ=ENV)
    assert cfg.receivers_for(alert(severity="critical"), "firing", False, {}) == ["sms", "mail", "hook"]
    assert cfg.receivers_for(alert(severity="major"), "firing", False, {}) == ["mail", "hook"]
    assert cfg.receivers_for(alert(severity="warning"), "firing", False, {}) == ["tg"]
    assert cfg.receivers_for(alert(severity="major", tags={}), "firing", True, {"team": "net"}) == [
        "mail",
        "hook",
    ]
    assert cfg.receivers_for(alert(severity="minor", tags={}), "firing", True, {}) == ["tg", "slack"]


def test_alertmanager_webhook_format() -> None:
    body = payloads.alertmanager(alert(), "firing", "hook", "http://nms")
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "hook"
    assert body["groupLabels"] == {"alertname": "cpu"}
    for key in ("groupKey", "commonLabels", "commonAnnotations", "externalURL", "truncatedAlerts"):
        assert key in body
    (a,) = body["alerts"]
    assert set(a) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert (
        a["labels"]["alertname"] == "cpu"
        and a["labels"]["severity"] == "major"
        and a["labels"]["team"] == "net"
    )
    assert a["startsAt"].startswith("2023-11-14T22:13:20") and a["startsAt"].endswith("Z")
    assert a["endsAt"] == "0001-01-01T00:00:00Z"
    resolved = payloads.alertmanager(alert(state="resolved"), "resolved", "hook", "http://nms")
    assert resolved["status"] == "resolved" and resolved["alerts"][0]["endsAt"].startswith(
        "2023-11-14T22:14:20"
    )
    assert a["fingerprint"] == resolved["alerts"][0]["fingerprint"]


def test_channel_payloads() -> None:
    cfg = parse_notify_config(CONFIG, environ=ENV)
    a = alert()
    assert payloads.slack(a, "firing")["text"].startswith("[NetVigil MAJOR]")
    assert payloads.telegram(a, "resolved", "42") == {
        "chat_id": "42",
        "text": "[NetVigil RESOLVED] CPU 97% on r1",
        "disable_web_page_preview": True,
    }
    card = payloads.teams(a, "firing", "messagecard")
    assert card["@type"] == "MessageCard" and card["sections"][0]["facts"][0] == {
        "name": "Device",
        "value": "r1",
    }
    adaptive = payloads.teams(a, "firing", "adaptive")
    assert adaptive["attachments"][0]["content"]["type"] == "AdaptiveCard"
    url, body = payloads.sms_request(cfg.receivers["sms"], "+1 555", "a&b")
    assert url == "http://gw/send?to=%2B1%20555&msg=a%26b" and body is None
    msg = payloads.email_message(cfg.receivers["mail"], a, "firing", "http://nms")
    assert msg["Subject"].startswith("[NetVigil MAJOR]") and "Threshold: 90" in msg.get_content()
