"""Latest values per device from Redis, for the device page's live mode.

The stream worker owns the key layout (streams/live.py ``LiveState``): one
hash per device, ``netvigil:latest:<device>``, fields ``<metric>|<instance>``
-> ``repr(value)`` and ``_ts`` -> epoch seconds of the device's last batch.
This module is the one place in the app that knows it; JSON values
``{"value": v, "ts": t}`` are accepted too, so a richer layout later needs
no change here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import redis

__all__ = ["KEY", "latest", "parse_live"]

log = logging.getLogger(__name__)
KEY = "netvigil:latest:{device}"
TS_FIELD = "_ts"


def _text(v: bytes | str) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else v


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_live(raw: Mapping[bytes | str, bytes | str]) -> pd.DataFrame:
    """Hash fields -> rows (metric, instance, value, ts); unparsable fields are skipped (pure)."""
    rows: list[dict[str, Any]] = []
    fields = {_text(k): _text(v) for k, v in raw.items()}
    device_ts = _number(fields.pop(TS_FIELD, ""))
    for name, text in fields.items():
        metric, _, instance = name.partition("|")
        ts = datetime.fromtimestamp(device_ts, UTC) if device_ts is not None else None
        parsed: Any = _number(text)
        if parsed is None:
            try:
                parsed = json.loads(text)
            except ValueError:
                continue
        if isinstance(parsed, dict):
            number = parsed.get("value", parsed.get("v"))
            stamp = parsed.get("ts", parsed.get("t"))
            if isinstance(stamp, int | float):
                ts = datetime.fromtimestamp(stamp, UTC)
            elif isinstance(stamp, str):
                try:
                    ts = datetime.fromisoformat(stamp)
                except ValueError:
                    ts = None
        else:
            number = parsed
        if isinstance(number, bool) or not isinstance(number, int | float):
            continue
        rows.append({"metric": metric, "instance": instance, "value": float(number), "ts": ts})
    frame = pd.DataFrame(rows, columns=["metric", "instance", "value", "ts"])
    return frame.sort_values(["metric", "instance"]).reset_index(drop=True)


def latest(client: redis.Redis, device: str) -> pd.DataFrame:
    """The device's latest values; empty (and logged) when Redis is unreachable."""
    try:
        raw = client.hgetall(KEY.format(device=device))
    except redis.RedisError as exc:
        log.warning("live values for %s unavailable: %s", device, type(exc).__name__)
        raw = {}
    return parse_live(raw)  # type: ignore[arg-type]  # redis-py's sync return type is a union with Awaitable
