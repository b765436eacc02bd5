"""Score rows' timestamps are rounded to microseconds exactly as ``datetime.fromtimestamp`` does."""

from __future__ import annotations

import datetime as dt

import numpy as np

from streams.anomaly.store import pg_micros_like_datetime

PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def test_microseconds_match_datetime_including_halves() -> None:
    rng = np.random.default_rng(3)
    base = 1_790_000_000.0
    ts = np.concatenate(
        [
            base + rng.uniform(0, 10 * 86_400, 20_000),
            base + np.arange(2_000) * 0.0000005,  # exact halves of a microsecond, as far as floats go
            np.nextafter(base + 0.0000005, np.inf) + np.zeros(1),
            np.array([0.0, 946_684_800.0, 1.5, 1_790_000_000.9999996]),
        ]
    )
    got = pg_micros_like_datetime(ts).tolist()
    want = [
        (dt.datetime.fromtimestamp(t, dt.UTC) - PG_EPOCH) // dt.timedelta(microseconds=1) for t in ts.tolist()
    ]
    assert got == want
