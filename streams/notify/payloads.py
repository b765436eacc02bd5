"""What each channel receives, built from an alert (pure).

The generic webhook follows Prometheus Alertmanager's webhook format
(version "4") so receivers written for Alertmanager work unchanged: one
alert per message, grouped by ``alertname`` (the rule).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from netvigil.records import Alert
from streams.notify.config import Receiver

__all__ = [
    "alertmanager",
    "email_message",
    "labels_of",
    "slack",
    "sms_request",
    "teams",
    "telegram",
    "text_of",
]

ZERO_TIME = "0001-01-01T00:00:00Z"
_COLOURS = {"info": "439FE0", "warning": "FFC107", "minor": "FF9800", "major": "F44336", "critical": "B71C1C"}


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def labels_of(alert: Alert) -> dict[str, str]:
    labels = {
        "alertname": alert.rule,
        "device": alert.device,
        "severity": alert.severity,
        "kind": alert.kind,
    }
    if alert.instance:
        labels["instance"] = alert.instance
    if alert.metric:
        labels["metric"] = alert.metric
    for k, v in alert.tags.items():
        labels.setdefault(k, v)
    return labels


def text_of(alert: Alert, status: str, reason: str = "") -> str:
    head = "RESOLVED" if status == "resolved" else f"{alert.severity.upper()}"
    extra = " (flapping)" if alert.flapping else ""
    why = f" [{reason}]" if reason and reason not in ("opened", "condition cleared") else ""
    return f"[NetVigil {head}]{extra} {alert.summary}{why}"


def alertmanager(
    alert: Alert, status: str, receiver: str, external_url: str, reason: str = ""
) -> dict[str, Any]:
    labels = labels_of(alert)
    annotations = {"summary": alert.summary, "key": alert.key}
    if alert.value is not None:
        annotations["value"] = f"{alert.value:g}"
    if alert.threshold is not None:
        annotations["threshold"] = f"{alert.threshold:g}"
    if alert.root_cause:
        annotations["root_cause"] = alert.root_cause
    if reason:
        annotations["reason"] = reason
    am_status = "resolved" if status == "resolved" else "firing"
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alert.rule}"}}',
        "truncatedAlerts": 0,
        "status": am_status,
        "receiver": receiver,
        "groupLabels": {"alertname": alert.rule},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": external_url,
        "alerts": [
            {
                "status": am_status,
                "labels": labels,
                "annotations": annotations,
                "startsAt": _rfc3339(alert.started),
                "endsAt": _rfc3339(alert.updated) if am_status == "resolved" else ZERO_TIME,
                "generatorURL": f"{external_url}/?alert={quote(alert.key, safe='')}",
                "fingerprint": hashlib.sha256(alert.key.encode()).hexdigest()[:16],
            }
        ],
    }


def slack(alert: Alert, status: str, reason: str = "") -> dict[str, Any]:
    colour = "2EB886" if status == "resolved" else _COLOURS.get(alert.severity, "999999")
    return {
        "text": text_of(alert, status, reason),
        "attachments": [
            {
                "color": f"#{colour}",
                "fields": [
                    {"title": "Device", "value": alert.device, "short": True},
                    {"title": "Severity", "value": alert.severity, "short": True},
                    {"title": "Rule", "value": alert.rule, "short": True},
                    {"title": "State", "value": alert.state, "short": True},
                ],
            }
        ],
    }


def telegram(alert: Alert, status: str, chat_id: str, reason: str = "") -> dict[str, Any]:
    return {"chat_id": chat_id, "text": text_of(alert, status, reason), "disable_web_page_preview": True}


def teams(alert: Alert, status: str, card: str, reason: str = "") -> dict[str, Any]:
    title = text_of(alert, status, reason)
    facts = [
        ("Device", alert.device),
        ("Severity", alert.severity),
        ("Rule", alert.rule),
        ("State", alert.state),
    ]
    if card == "adaptive":
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True},
                            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]},
                        ],
                    },
                }
            ],
        }
    colour = "2EB886" if status == "resolved" else _COLOURS.get(alert.severity, "999999")
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title,
        "themeColor": colour,
        "title": title,
        "sections": [{"facts": [{"name": k, "value": v} for k, v in facts]}],
    }


def sms_request(rec: Receiver, to: str, text: str) -> tuple[str, dict[str, Any] | None]:
    """(URL, JSON body or None): ``{to}`` and ``{text}`` in the URL template are URL-encoded."""
    url = rec.url.replace("{to}", quote(to, safe="")).replace("{text}", quote(text[:480], safe=""))
    body = {"to": to, "text": text[:480]} if rec.method == "POST" else None
    return url, body


def email_message(
    rec: Receiver, alert: Alert, status: str, external_url: str, reason: str = ""
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = text_of(alert, status, reason)
    msg["From"] = rec.from_
    msg["To"] = ", ".join(rec.to)
    lines = [
        text_of(alert, status, reason),
        "",
        f"Device:    {alert.device}",
        f"Instance:  {alert.instance or '-'}",
        f"Rule:      {alert.rule}",
        f"Severity:  {alert.severity}",
        f"State:     {alert.state}",
        f"Value:     {'-' if alert.value is None else f'{alert.value:g}'}",
        f"Threshold: {'-' if alert.threshold is None else f'{alert.threshold:g}'}",
        f"Started:   {_rfc3339(alert.started)}",
    ]
    if alert.root_cause:
        lines.append(f"Root cause: {alert.root_cause}")
    lines += ["", f"{external_url}/?alert={quote(alert.key, safe='')}"]
    msg.set_content("\n".join(lines))
    return msg
