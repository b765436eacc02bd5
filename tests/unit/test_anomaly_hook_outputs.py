"""The batch hook's outputs for a fixed input, pinned: a rewrite for speed must not change them.

The input has what the hook's shortcuts must keep exact: several families,
flagged (untrusted) and non-finite values, the same series twice in one call,
anomalies (so alert changes), and capacity trends long enough to forecast.
The digest covers every queued score row, score record, forecast row, alert
signal and incident update, in order (float reprs are exact).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import numpy as np

from netvigil.records import Metric, MetricBatch
from netvigil.settings import load_settings
from streams.anomaly.config import AnomalyConfig
from streams.anomaly.stage import AnomalyStage
from streams.app import SeriesBatch

LAYOUT = [
    ("if_in_bps", "1"),
    ("if_in_util_pct", "1"),
    ("if_out_errors_ps", "2"),
    ("cpu_user_pct", ""),
    ("mem_used_pct", ""),
    ("disk_used_pct", "/"),
    ("ping_rtt_avg_ms", ""),
    ("sys_uptime_s", ""),
]
DEVICES = 12


def _groups(r: int, rng: np.random.Generator) -> list[SeriesBatch]:
    ts = 1_700_000_000.0 + 60.0 * r
    out: list[SeriesBatch] = []
    for d in range(DEVICES):
        vals = 20 + d + rng.normal(0, 1, len(LAYOUT))
        vals[5] = 30 + 0.4 * r + d + rng.normal(0, 0.2)  # disk filling: a forecast crosses
        if r % 37 == d % 37 and r > 20:
            vals[0] += 400  # a spike: a flag, an incident
        if (r + d) % 17 == 0:
            vals[3] = np.nan
        ms = [Metric(m, i, float(v)) for (m, i), v in zip(LAYOUT, vals, strict=True)]
        flags = {"if_in_bps.1": "above_speed"} if (r + d) % 23 == 0 else {}
        ids = [1000 * d + k for k in range(len(LAYOUT))]
        out.append(SeriesBatch(MetricBatch(device=f"d{d}", ts=ts, metrics=ms, flags=flags), ids))
    if r % 5 == 0:  # the same device twice in one call (a late batch)
        late = out[0].batch
        ms = [Metric(m.metric, m.instance, m.value + 1.0) for m in late.metrics]
        again = MetricBatch(device=late.device, ts=late.ts + 30.0, metrics=ms)
        out.append(SeriesBatch(again, list(out[0].series_ids)))
    return out


def _run() -> tuple[str, dict[str, int]]:
    stage = AnomalyStage(load_settings(), AnomalyConfig(thresholds_from_rules=False), publish_kafka=False)
    seen: list[Any] = []
    stage.alerts.signal = seen.append  # type: ignore[method-assign]
    stage.alerts.incident = lambda u, sev: seen.append((u, sev))  # type: ignore[method-assign]
    rng = np.random.default_rng(7)
    for r in range(160):
        asyncio.run(stage.process(_groups(r, rng)))
    h = hashlib.sha256()
    for part in (stage._scores, stage._records, stage._forecasts, seen):
        h.update(repr(part).encode())
    counts = {
        "scores": len(stage._scores),
        "flags": sum(1 for s in stage._scores if s[5]),
        "forecasts": len(stage._forecasts),
        "signals": len(seen),
    }
    return h.hexdigest(), counts


def test_hook_outputs_for_a_fixed_input_are_unchanged() -> None:
    digest, counts = _run()
    assert counts == EXPECTED_COUNTS
    assert digest == EXPECTED_DIGEST


EXPECTED_COUNTS = {"scores": 2311, "flags": 3, "forecasts": 816, "signals": 164}
EXPECTED_DIGEST = "329024f6b1983fa1c69ff54554f59e13b7b26c6df66534e346442584f1979360"
