"""The alert lifecycle as a pure state machine: signals and time in, outcomes out.

States: open -> acknowledged -> resolved, and suppressed (silenced by a
maintenance window, or a child of a device that is down). One alert per dedup
key (rule/device/instance): a repeated condition updates it and may raise its
severity. The engine never does I/O: it returns an :class:`Outcome` listing
the records to persist and publish, the notifications to send and the
remediations to run, which the runtime carries out. That keeps every rule of
the lifecycle unit-testable with plain timestamps.

Flapping: more than ``flap_changes`` condition changes of one key within
``flap_window`` seconds make it one flapping alert; it is notified once and
muted until the key has been stable for ``flap_stable`` seconds.

No data: a clear whose reason is "no data" (the evaluator saw the series go
silent, see :mod:`streams.alerting.nodata`) resolves the alert at once with
that reason and a ``nodata`` timeline event, even when flapping: silence is
not a condition change, and waiting for "stable after flapping" would hide
why it ended. :meth:`Engine.unreachable` is what the sweep asks so that a
device that is down (or behind a parent that is down) keeps its alerts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from netvigil.records import SEVERITIES, Alert, AlertTransition
from streams.alerting.evaluate import NO_DATA, Signal
from streams.alerting.model import Event, Notification, Outcome, Policy, Silence
from streams.alerting.rules import Rule

__all__ = ["Engine", "Event", "Notification", "Outcome", "Policy", "Silence"]

ACTIVE = ("open", "acknowledged", "suppressed")
OWN_KINDS = ("threshold", "event", "device")


@dataclass
class _Tracked:
    alert: Alert
    condition: bool = True
    notified: bool = False  # a firing notification went out for this episode
    escalated: bool = False
    opened: float = 0.0
    last_signal: float = 0.0
    last_publish: float = 0.0


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity)


class Engine:
    """``rule_of(name)`` looks rules up; ``parents``/``device_tags`` come from the inventory."""

    def __init__(
        self,
        policy: Policy | None = None,
        rule_of: Callable[[str], Rule | None] = lambda name: None,
        parents: dict[str, str | None] | None = None,
        device_tags: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.rule_of = rule_of
        self.parents: dict[str, str | None] = parents or {}
        self.device_tags: dict[str, dict[str, str]] = device_tags or {}
        self.silences: list[Silence] = []
        self.active: dict[str, _Tracked] = {}
        self._changes: dict[str, deque[float]] = {}
        self._down: dict[str, str] = {}  # device -> key of its active device-down alert

    # -- state rebuild -----------------------------------------------------
    def load(self, alerts: Iterable[Alert], escalated: Iterable[str] = ()) -> None:
        """Rebuild from the ``alerts`` table: active alerts count as already notified.

        Only alerts of this engine's rules and kinds are adopted: anomaly and
        predictive alerts belong to the models tier, which shares the table.
        """
        done = set(escalated)
        for a in alerts:
            if a.state not in ACTIVE or a.kind not in OWN_KINDS or self.rule_of(a.rule) is None:
                continue
            t = _Tracked(
                a, True, a.state in ("open", "acknowledged"), a.key in done, a.started, a.updated, a.updated
            )
            self.active[a.key] = t
            if a.kind == "device":
                self._down[a.device] = a.key

    # -- inputs ------------------------------------------------------------
    def apply(self, sig: Signal) -> Outcome:
        out = Outcome()
        t = self.active.get(sig.key)
        if sig.firing:
            if t is None:
                self._open(sig, out)
            else:
                self._refire(t, sig, out)
        elif t is not None and sig.reason == NO_DATA:
            t.condition, t.last_signal = False, sig.ts
            out.events.append(Event(sig.key, sig.ts, "nodata", dict(sig.detail)))
            self._resolve(t, sig.ts, NO_DATA, out)
        elif t is not None:
            self._clear(t, sig.ts, out, sig.reason or "condition cleared")
        return out

    def unreachable(self, device: str) -> bool:
        """The device or one of its ancestors has an active device-down alert."""
        seen: set[str] = set()
        node: str | None = device
        while node and node not in seen:
            if node in self._down:
                return True
            seen.add(node)
            node = self.parents.get(node)
        return False

    def acknowledge(self, key: str, actor: str, now: float) -> Outcome:
        """The app acknowledged ``key`` (and wrote the 'ack' event): adopt it, no renotify."""
        out = Outcome()
        t = self.active.get(key)
        if t is not None and t.alert.state == "open":
            t.alert = msgspec.structs.replace(t.alert, state="acknowledged", updated=now)
            out.alerts.append(t.alert)
        return out

    def set_silences(self, silences: list[Silence], now: float) -> Outcome:
        self.silences = list(silences)
        return self.tick(now)

    # -- lifecycle ---------------------------------------------------------
    def _flapping(self, key: str, now: float, changed: bool) -> bool:
        q = self._changes.setdefault(key, deque())
        if changed:
            q.append(now)
        while q and q[0] < now - self.policy.flap_window:
            q.popleft()
        return len(q) > self.policy.flap_changes

    def _suppression(self, alert: Alert, now: float) -> tuple[str, str | None] | None:
        """(reason, root cause key) when ``alert`` must be suppressed now."""
        seen: set[str] = set()
        parent = self.parents.get(alert.device)
        found: tuple[str, str] | None = None
        while parent and parent not in seen:  # the root cause is the highest ancestor that is down
            seen.add(parent)
            root = self._down.get(parent)
            if root is not None and root != alert.key:
                found = (f"parent {parent} is down", root)
            parent = self.parents.get(parent)
        if found is not None:
            return found
        tags = self.device_tags.get(alert.device, {})
        for s in self.silences:
            if s.matches(alert, tags, now):
                return (f"silenced by maintenance window #{s.id}", None)
        return None

    def _move(self, t: _Tracked, to: str, now: float, reason: str, out: Outcome, **changes: Any) -> None:
        before = t.alert.state
        t.alert = msgspec.structs.replace(t.alert, state=to, updated=now, **changes)
        t.last_publish = now
        out.alerts.append(t.alert)
        out.transitions.append(
            AlertTransition(
                key=t.alert.key,
                ts=now,
                from_state=before,
                to_state=to,  # type: ignore[arg-type]
                severity=t.alert.severity,
                reason=reason,
            )
        )

    def _notify(self, t: _Tracked, status: str, reason: str, out: Outcome, escalated: bool = False) -> None:
        out.notifications.append(Notification(t.alert, status, reason, escalated))
        t.notified = status == "firing"

    def _open(self, sig: Signal, out: Outcome) -> None:
        now = sig.ts
        flapping = self._flapping(sig.key, now, True)
        alert = Alert(
            key=sig.key,
            rule=sig.rule,
            device=sig.device,
            instance=sig.instance,
            metric=sig.metric,
            kind=sig.kind,  # type: ignore[arg-type]
            severity=sig.severity,  # type: ignore[arg-type]
            state="open",
            summary=sig.summary or sig.key,
            value=sig.value,
            threshold=sig.threshold,
            flapping=flapping,
            tags=dict(sig.tags),
            started=now,
            updated=now,
        )
        t = _Tracked(alert, True, False, False, now, now, now)
        self.active[sig.key] = t
        why = self._suppression(alert, now)
        state, root = ("suppressed", why[1]) if why else ("open", None)
        t.alert = msgspec.structs.replace(t.alert, state="resolved")  # so the transition reads None -> state
        self._move(t, state, now, why[0] if why else "condition met", out, root_cause=root)
        out.transitions[-1] = msgspec.structs.replace(out.transitions[-1], from_state=None)
        if sig.kind == "device":
            self._down[sig.device] = sig.key
            self._suppress_children(sig.device, sig.key, now, out)
        if state != "open":
            return
        if flapping:
            out.events.append(Event(sig.key, now, "flapping", {"changes": len(self._changes[sig.key])}))
        self._notify(t, "firing", "flapping" if flapping else "opened", out)
        if self.rule_of(sig.rule) is not None and self.rule_of(sig.rule).remediation is not None:  # type: ignore[union-attr]
            out.remediations.append((t.alert, sig.rule))

    def _refire(self, t: _Tracked, sig: Signal, out: Outcome) -> None:
        now = sig.ts
        changed = not t.condition
        t.condition, t.last_signal = True, now
        flapping = self._flapping(sig.key, now, changed)
        a = t.alert
        if flapping and not a.flapping:
            self._start_flapping(t, now, out)
            return
        if _rank(sig.severity) > _rank(a.severity):
            self._move(
                t,
                a.state,
                now,
                f"severity raised to {sig.severity}",
                out,
                severity=sig.severity,
                value=sig.value,
                threshold=sig.threshold,
                summary=sig.summary or a.summary,
            )
            if t.alert.state == "open" and not t.alert.flapping:
                self._notify(t, "firing", f"severity raised to {sig.severity}", out)
        elif now - t.last_publish >= self.policy.refresh_interval:
            t.alert = msgspec.structs.replace(a, value=sig.value, updated=now)
            t.last_publish = now
            out.alerts.append(t.alert)

    def _start_flapping(self, t: _Tracked, now: float, out: Outcome) -> None:
        t.alert = msgspec.structs.replace(t.alert, flapping=True, updated=now)
        t.last_publish = now
        out.alerts.append(t.alert)
        out.events.append(Event(t.alert.key, now, "flapping", {"changes": len(self._changes[t.alert.key])}))
        if t.alert.state == "open":
            self._notify(t, "firing", "flapping", out)

    def _clear(self, t: _Tracked, now: float, out: Outcome, reason: str = "condition cleared") -> None:
        changed = t.condition
        t.condition, t.last_signal = False, now
        flapping = self._flapping(t.alert.key, now, changed)
        if t.alert.flapping:
            return  # resolved when stable (tick)
        if flapping:
            self._start_flapping(t, now, out)
            return
        self._resolve(t, now, reason, out)

    def _resolve(self, t: _Tracked, now: float, reason: str, out: Outcome) -> None:
        key = t.alert.key
        self._move(t, "resolved", now, reason, out, flapping=False)
        del self.active[key]
        if t.notified:
            self._notify(t, "resolved", reason, out)
        if self._down.get(t.alert.device) == key:
            del self._down[t.alert.device]
            self._release_children(key, now, out)

    def _suppress_children(self, device: str, root: str, now: float, out: Outcome) -> None:
        for t in list(self.active.values()):
            if t.alert.key == root or t.alert.state not in ("open", "acknowledged"):
                continue
            why = self._suppression(t.alert, now)
            if why is not None and why[1] is not None:
                self._move(t, "suppressed", now, why[0], out, root_cause=why[1])

    def _release_children(self, root: str, now: float, out: Outcome) -> None:
        for t in list(self.active.values()):
            if t.alert.state == "suppressed" and t.alert.root_cause == root:
                self._reconsider(t, now, out)

    def _reconsider(self, t: _Tracked, now: float, out: Outcome) -> None:
        """A suppressed alert whose reason may be gone: re-suppress, reopen or resolve."""
        why = self._suppression(t.alert, now)
        if why is not None:
            if why[1] != t.alert.root_cause:
                self._move(t, "suppressed", now, why[0], out, root_cause=why[1])
            return
        if not t.condition:
            self._resolve(t, now, "condition cleared while suppressed", out)
            return
        self._move(t, "open", now, "suppression ended", out, root_cause=None)
        if not t.notified and not t.alert.flapping:
            self._notify(t, "firing", "suppression ended", out)

    # -- time --------------------------------------------------------------
    def tick(self, now: float) -> Outcome:
        """Time-driven changes: silences starting/ending, flap end, escalation, event expiry."""
        out = Outcome()
        for t in list(self.active.values()):
            if t.alert.key not in self.active:
                continue  # resolved earlier in this tick (released child)
            a = t.alert
            rule = self.rule_of(a.rule)
            if a.state == "suppressed":
                self._reconsider(t, now, out)
            elif a.state == "open":
                why = self._suppression(a, now)
                if why is not None:
                    self._move(t, "suppressed", now, why[0], out, root_cause=why[1])
                    continue
            if a.flapping and not self._flapping(a.key, now, False):
                q = self._changes.get(a.key)
                if not q or now - q[-1] >= self.policy.flap_stable:
                    self._end_flapping(t, now, out)
                    continue
            if (
                rule is not None
                and rule.type in ("trap", "syslog")
                and now - t.last_signal >= rule.resolve_after_s
            ):
                self._resolve(t, now, "no repeat within resolve_after", out)
                continue
            self._maybe_escalate(t, rule, now, out)
        for key, q in list(self._changes.items()):
            while q and q[0] < now - self.policy.flap_window:
                q.popleft()
            if not q and key not in self.active:
                del self._changes[key]
        return out

    def _end_flapping(self, t: _Tracked, now: float, out: Outcome) -> None:
        out.events.append(Event(t.alert.key, now, "flapping_end", {}))
        if not t.condition:
            self._resolve(t, now, "stable after flapping", out)
            return
        t.alert = msgspec.structs.replace(t.alert, flapping=False, updated=now)
        out.alerts.append(t.alert)

    def _maybe_escalate(self, t: _Tracked, rule: Rule | None, now: float, out: Outcome) -> None:
        after = (
            rule.escalate_after_s
            if rule is not None and rule.escalate_after_s is not None
            else self.policy.escalate_after
        )
        a = t.alert
        if after is None or t.escalated or a.state != "open" or a.flapping or now - t.opened < after:
            return
        t.escalated = True
        severity = SEVERITIES[min(_rank(a.severity) + 1, len(SEVERITIES) - 1)]
        t.alert = msgspec.structs.replace(a, severity=severity, updated=now)  # type: ignore[arg-type]
        out.alerts.append(t.alert)
        out.events.append(
            Event(
                a.key,
                now,
                "escalation",
                {"from": a.severity, "to": severity, "unacknowledged_s": round(now - t.opened)},
            )
        )
        self._notify(t, "firing", "escalated: unacknowledged", out, escalated=True)

    # -- views -------------------------------------------------------------
    def counts(self) -> dict[tuple[str, str], int]:
        """(state, severity) -> number of active alerts, for the gauges."""
        out: dict[tuple[str, str], int] = {}
        for t in self.active.values():
            k = (t.alert.state, t.alert.severity)
            out[k] = out.get(k, 0) + 1
        return out
