"""Properties of rates.compute on random polls: what must hold whatever the counters do.

The optimised compute() was checked sample for sample against the previous
implementation on random polls when it was rewritten (see the commit); these
properties keep guarding it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netvigil.records import DevicePoll, Sample, SnmpType
from streams.rates import compute, flag_key

COUNTERS: list[tuple[str, SnmpType]] = [
    ("ifHCInOctets", "counter64"),
    ("ifHCOutOctets", "counter64"),
    ("ifInOctets", "counter32"),
    ("ifHCInUcastPkts", "counter64"),
    ("ifInUcastPkts", "counter32"),
    ("ifInErrors", "counter32"),
    ("ifOutDiscards", "counter32"),
]


@st.composite
def polls(draw: st.DrawFn) -> list[DevicePoll]:
    n = draw(st.integers(2, 5))
    insts = draw(st.lists(st.sampled_from(["1", "2", "3"]), min_size=1, max_size=3, unique=True))
    metrics = draw(st.lists(st.sampled_from(COUNTERS), min_size=1, max_size=len(COUNTERS), unique=True))
    out, ts, uptime = [], 1.7e9, 10_000
    for _ in range(n):
        ts += draw(st.sampled_from([-5.0, 0.0, 30.0, 60.0, 60.0, 900.0]))
        uptime += draw(st.sampled_from([6000, 6000, -100, 50]))
        samples = [
            Sample(m, i, draw(st.integers(0, (1 << (32 if k == "counter32" else 64)) - 1)), k)
            for m, k in metrics
            for i in insts
        ]
        samples += [Sample("ifHighSpeed", i, draw(st.sampled_from([0, 1, 1000])), "gauge") for i in insts]
        out.append(DevicePoll(device="d", address="a", ts=ts, sys_uptime=max(uptime, 0), samples=samples))
    return out


@settings(max_examples=150, deadline=None)
@given(polls())
def test_rates_invariants(seq: list[DevicePoll]) -> None:
    state = None
    for p in seq:
        r = compute(state, p)
        if state is not None and p.ts <= state.ts:
            assert r.replay and r.batch is None and r.state is state  # a redelivered poll writes nothing
            continue
        assert r.batch is not None and r.state is not None
        emitted = {flag_key(m.metric, m.instance) for m in r.batch.metrics}
        assert set(r.batch.flags) <= emitted  # flags only name stored values
        for m in r.batch.metrics:
            if m.metric.endswith(("_bps", "_pps", "_ps")):
                assert m.value >= 0  # rates are never negative
        assert r.state.counters == {
            flag_key(s.metric, s.instance): int(s.value) for s in p.samples if s.kind != "gauge"
        }
        state = r.state
