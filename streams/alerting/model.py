"""What the alert engine takes and gives: policy, silences, timeline events, notifications, outcomes.

Plain frozen dataclasses, no behaviour beyond matching, so the engine's
inputs and outputs can be built and compared in tests by hand.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from netvigil.records import Alert, AlertTransition

__all__ = ["Event", "Notification", "Outcome", "Policy", "Silence"]


@dataclass(frozen=True)
class Policy:
    flap_changes: int = 4
    flap_window: float = 600.0
    flap_stable: float = 300.0
    escalate_after: float | None = None  # default for rules without escalate_after
    refresh_interval: float = 60.0  # republish an unchanged active alert's latest value at most this often


@dataclass(frozen=True)
class Silence:
    """A maintenance window (a ``silences`` row): matcher globs and a time range."""

    id: int
    starts_at: float
    ends_at: float
    device: str = "*"
    rule: str = "*"
    tags: dict[str, str] = field(default_factory=dict)

    def matches(self, alert: Alert, device_tags: dict[str, str], now: float) -> bool:
        if not self.starts_at <= now < self.ends_at:
            return False
        if not fnmatch.fnmatchcase(alert.device, self.device):
            return False
        if not fnmatch.fnmatchcase(alert.rule, self.rule):
            return False
        tags = {**device_tags, **alert.tags}
        return all(tags.get(k) == v for k, v in self.tags.items())

    @classmethod
    def from_matcher(cls, id: int, matcher: dict[str, Any], starts_at: float, ends_at: float) -> Silence:
        return cls(
            id=id,
            starts_at=starts_at,
            ends_at=ends_at,
            device=str(matcher.get("device") or "*"),
            rule=str(matcher.get("rule") or "*"),
            tags={str(k): str(v) for k, v in (matcher.get("tags") or {}).items()},
        )


@dataclass(frozen=True)
class Event:
    """A timeline entry that is not a transition (flapping, escalation, silenced...)."""

    key: str
    ts: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
    actor: str = "system"


@dataclass(frozen=True)
class Notification:
    alert: Alert
    status: str  # "firing" | "resolved"
    reason: str = ""
    escalated: bool = False


@dataclass
class Outcome:
    alerts: list[Alert] = field(default_factory=list)
    transitions: list[AlertTransition] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    remediations: list[tuple[Alert, str]] = field(default_factory=list)  # (alert, rule name)

    def extend(self, other: Outcome) -> None:
        self.alerts += other.alerts
        self.transitions += other.transitions
        self.events += other.events
        self.notifications += other.notifications
        self.remediations += other.remediations

    def __bool__(self) -> bool:
        return bool(self.alerts or self.transitions or self.events or self.notifications or self.remediations)
