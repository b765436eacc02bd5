"""From RTTs to a PingResult: pure functions, no sockets.

Jitter is the mean absolute difference of successive RTTs of the replies that
came back (RFC 3550's idea without its smoothing, and icmplib's definition),
so one cycle's value does not depend on the previous cycle's.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

from netvigil.records import PingResult

__all__ = ["jitter", "summarize"]


def jitter(rtts: Sequence[float]) -> float | None:
    """Mean |rtt[i] - rtt[i-1]|; None with fewer than two replies."""
    if len(rtts) < 2:
        return None
    return sum(abs(b - a) for a, b in itertools.pairwise(rtts)) / (len(rtts) - 1)


def summarize(
    device: str,
    address: str,
    sent: int,
    rtts_ms: Sequence[float],
    *,
    error: str | None = None,
    ts: float | None = None,
) -> PingResult:
    """One target's cycle: ``rtts_ms`` are the replies, in send order."""
    received = len(rtts_ms)
    loss = 100.0 if sent == 0 else round(100.0 * (sent - received) / sent, 3)
    return PingResult(
        device=device,
        address=address,
        ts=time.time() if ts is None else ts,
        sent=sent,
        received=received,
        loss_pct=loss,
        rtt_min_ms=min(rtts_ms) if rtts_ms else None,
        rtt_avg_ms=sum(rtts_ms) / received if rtts_ms else None,
        rtt_max_ms=max(rtts_ms) if rtts_ms else None,
        jitter_ms=jitter(rtts_ms),
        error=error,
    )
