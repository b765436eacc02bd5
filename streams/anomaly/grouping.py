"""Anomaly incidents: the series of one device that flag together make one alert (pure, no I/O).

Why per device, not per series or per interface: the incidents operators
care about move many series of one device at once (an outage, a reboot, a
saturated uplink, a broadcast storm) and across families (interface
counters, CPU, latency).  Per series, a switch outage raised one alert per
affected interface metric; grouping per device+interface would still raise
one per interface, 48 on a 48-port switch.  The device is also the unit the
alert engine already reasons in: parent-down suppression and silences match
the device, so a grouped alert is suppressed or silenced exactly when its
members would have been.  The instances stay visible as members.

The lifecycle, fed by :class:`~streams.anomaly.scoring.AnomalyTracker`'s
per-series changes (flag = onset, clear = ``clear_points`` values back
inside the expected range):

* a flag on a device without an incident opens one (the alert opens);
* a flag of another series of that device joins it (the alert's summary,
  value, score and expected range follow the worst member; no new alert,
  no new notification);
* a member that clears leaves it; the incident ends, and the alert resolves,
  only when the last member has cleared.

One :class:`IncidentUpdate` per device per :meth:`IncidentGroups.observe`
call, whatever the number of series that changed: the stage turns it into
one engine signal and at most one timeline event, so a burst over many
interfaces is one update.  Timeline events of one alert get strictly
increasing timestamps (``alert_events`` is unique on key, ts, kind and
actor; two updates at the same data time would otherwise lose one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.alerting.signal import alert_key

__all__ = [
    "JOINED",
    "LEFT",
    "RULE",
    "IncidentGroups",
    "IncidentUpdate",
    "Member",
    "SeriesChange",
    "incident_key",
    "label",
    "parse_label",
]

RULE = "anomaly"  # rule of a grouped anomaly alert; per-series alerts were "anomaly:<metric>"
JOINED = "member_joined"  # timeline event kinds
LEFT = "member_cleared"
MAX_LISTED = 8  # members named in a summary; the rest are counted
_EPS = 1e-6  # timestamptz keeps microseconds


def incident_key(device: str) -> str:
    """The dedup key of a device's anomaly alert: stable across episodes and restarts."""
    return alert_key(RULE, device, "")


def label(metric: str, instance: str) -> str:
    """How a member is named to the operator: ``"if_in_bps Gi0/1"``, ``"cpu_load_pct"``."""
    return f"{metric} {instance}" if instance else metric


def parse_label(text: str) -> tuple[str, str]:
    """(metric, instance) back from :func:`label`: metric names have no spaces, instances may."""
    metric, _, instance = text.partition(" ")
    return metric, instance


@dataclass(frozen=True)
class SeriesChange:
    """One series' alert condition change (from the tracker) with what the alert shows of it."""

    series_id: int
    device: str
    metric: str
    instance: str
    ts: float
    firing: bool
    value: float | None = None
    score: float = 0.0
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class Member:
    """A series in an incident, as it was at its (latest) flag."""

    series_id: int
    metric: str
    instance: str
    ts: float
    value: float | None = None
    score: float = 0.0
    lower: float | None = None
    upper: float | None = None

    @property
    def label(self) -> str:
        return label(self.metric, self.instance)


def _worst(members: Iterable[Member]) -> Member:
    """Highest score; on a tie the most recent flag (the operator's latest news)."""
    return max(members, key=lambda m: (m.score, m.ts))


def _ranked(members: Iterable[Member]) -> list[Member]:
    return sorted(members, key=lambda m: (-m.score, -m.ts, m.label))


def _one(device: str, m: Member) -> str:
    where = f"{m.label} on {device}"
    if m.value is None:
        return f"{where}: anomalous (score {m.score:.2f})"
    band = f"{m.lower:.4g}..{m.upper:.4g}" if m.lower is not None and m.upper is not None else "unknown"
    return f"{where}: {m.value:.4g} outside expected {band} (score {m.score:.2f})"


def summarize(device: str, members: Iterable[Member]) -> str:
    """One member: its value and band; several: how many, their names worst first, worst score."""
    ranked = _ranked(members)
    if not ranked:
        return f"anomaly on {device}"
    if len(ranked) == 1:
        return _one(device, ranked[0])
    names = ", ".join(m.label for m in ranked[:MAX_LISTED])
    more = f" and {len(ranked) - MAX_LISTED} more" if len(ranked) > MAX_LISTED else ""
    return f"{len(ranked)} series anomalous on {device}: {names}{more} (worst score {ranked[0].score:.2f})"


@dataclass
class Incident:
    """The members of a device's open anomaly alert, and those of this episode already back."""

    device: str
    members: dict[int, Member] = field(default_factory=dict)  # series id -> member
    cleared: dict[int, Member] = field(default_factory=dict)  # left during this episode
    last_event: float = float("-inf")

    @property
    def key(self) -> str:
        return incident_key(self.device)

    def everyone(self) -> list[Member]:
        return [*self.cleared.values(), *self.members.values()]


@dataclass(frozen=True)
class IncidentUpdate:
    """What changed in one device's incident: becomes one engine signal and one timeline event.

    ``firing`` False means the last member cleared: resolve.  ``worst`` and
    ``summary`` describe the current members while firing, and the whole
    episode at the end (so the resolved alert still names everything that
    was part of it).
    """

    device: str
    ts: float
    event_ts: float  # for the timeline: strictly after the incident's previous event
    firing: bool
    opened: bool
    joined: tuple[Member, ...]
    left: tuple[Member, ...]
    members: tuple[Member, ...]  # current, worst first
    worst: Member
    summary: str
    cleared: tuple[Member, ...] = ()

    @property
    def key(self) -> str:
        return incident_key(self.device)

    @property
    def event_kind(self) -> str | None:
        """``member_joined`` when any joined, else ``member_cleared`` when any left, else None."""
        return JOINED if self.joined else LEFT if self.left else None

    def detail(self) -> dict[str, Any]:
        """The timeline event's detail; ``members`` (label -> score) is what a restart re-adopts."""
        out: dict[str, Any] = {}
        if self.joined:
            out["joined"] = [m.label for m in self.joined]
        if self.left:
            out["cleared"] = [m.label for m in self.left]
        out["members"] = {m.label: round(m.score, 3) for m in self.members}
        if self.cleared:  # members of this episode already back (named when it resolves)
            out["back"] = {m.label: round(m.score, 3) for m in self.cleared}
        out["worst"] = self.worst.label
        return out


class IncidentGroups:
    """Open incidents by device; :meth:`observe` folds series changes into per-device updates."""

    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}

    def __contains__(self, device: str) -> bool:
        return device in self.incidents

    def adopt(
        self,
        device: str,
        members: Iterable[Member],
        back: Iterable[Member] = (),
        last_event: float = float("-inf"),
    ) -> Incident:
        """Rebuild an incident whose alert was open before a restart (members from its timeline)."""
        inc = self.incidents[device] = Incident(device, last_event=last_event)
        inc.members = {m.series_id: m for m in members}
        inc.cleared = {m.series_id: m for m in back if m.series_id not in inc.members}
        return inc

    def observe(self, changes: Iterable[SeriesChange]) -> list[IncidentUpdate]:
        """One update per device with a change that matters, in the order devices first changed.

        A clear of a series that is not a member (its incident was never
        adopted, or it belonged to a per-series alert) changes nothing.  A
        repeated flag of a member refreshes what it shows (a higher score may
        make it the worst) without a timeline event.
        """
        by_device: dict[str, list[SeriesChange]] = {}
        for ch in changes:
            by_device.setdefault(ch.device, []).append(ch)
        out: list[IncidentUpdate] = []
        for device, chs in by_device.items():
            update = self._apply(device, chs)
            if update is not None:
                out.append(update)
        return out

    def _apply(self, device: str, changes: list[SeriesChange]) -> IncidentUpdate | None:
        inc = self.incidents.get(device)
        opened = inc is None
        if inc is None:
            if not any(c.firing for c in changes):
                return None
            inc = self.incidents[device] = Incident(device)
        joined: dict[int, Member] = {}
        left: dict[int, Member] = {}
        refreshed = False
        for c in changes:
            if c.firing:
                m = Member(c.series_id, c.metric, c.instance, c.ts, c.value, c.score, c.lower, c.upper)
                if c.series_id in inc.members:
                    refreshed = True
                else:
                    joined[c.series_id] = m
                    left.pop(c.series_id, None)
                inc.members[c.series_id] = m
                inc.cleared.pop(c.series_id, None)
            elif c.series_id in inc.members:
                gone = inc.members.pop(c.series_id)
                inc.cleared[c.series_id] = gone
                if joined.pop(c.series_id, None) is None:
                    left[c.series_id] = gone
        if not (joined or left or refreshed or opened):
            return None
        ts = max(c.ts for c in changes)
        firing = bool(inc.members)
        shown = list(inc.members.values()) if firing else inc.everyone()
        if not shown:  # adopted without members and nothing joined: nothing to say
            del self.incidents[device]
            return None
        event_ts = max(ts, inc.last_event + _EPS) if (joined or left) else ts
        if joined or left:
            inc.last_event = event_ts
        update = IncidentUpdate(
            device=device,
            ts=ts,
            event_ts=event_ts,
            firing=firing,
            opened=opened,
            joined=tuple(joined.values()),
            left=tuple(left.values()),
            members=tuple(_ranked(inc.members.values())),
            worst=_worst(shown),
            summary=summarize(device, shown),
            cleared=tuple(_ranked(inc.cleared.values())),
        )
        if not firing:
            del self.incidents[device]
        return update


def members_from_detail(detail: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """(current members, members already back) as label -> score from a membership event's detail."""

    def scores(x: Any) -> dict[str, float]:
        if not isinstance(x, Mapping):
            return {}
        out: dict[str, float] = {}
        for k, v in x.items():
            try:
                out[str(k)] = float(v)
            except (TypeError, ValueError):
                out[str(k)] = 0.0
        return out

    return scores(detail.get("members")), scores(detail.get("back"))
