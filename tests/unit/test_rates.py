"""Rates from raw counters: wraps, reboots, discontinuities, gaps, speed flags, CPU ticks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netvigil.records import DevicePoll, PingResult, Prop, Sample
from streams.rates import DeviceState, compute, counter_delta, flag_key, ping_metrics

M32 = 1 << 32


def poll(
    ts: float, uptime: int | None, samples: list[Sample], props: list[Prop] | None = None, **kw: object
) -> DevicePoll:
    return DevicePoll(
        device="r1", address="127.0.0.1", ts=ts, sys_uptime=uptime, samples=samples, props=props or [], **kw
    )


def iface(inb: int, outb: int, kind: str = "counter64", speed_mbit: int = 1000) -> list[Sample]:
    name = "ifHC{}Octets" if kind == "counter64" else "if{}Octets"
    return [
        Sample(name.format("In"), "1", inb, kind),  # type: ignore[arg-type]
        Sample(name.format("Out"), "1", outb, kind),  # type: ignore[arg-type]
        Sample("ifHighSpeed", "1", speed_mbit, "gauge"),
        Sample("ifOperStatus", "1", 1, "integer"),
    ]


def values(result: object) -> dict[tuple[str, str], float]:
    batch = result.batch  # type: ignore[attr-defined]
    assert batch is not None
    return {(m.metric, m.instance): m.value for m in batch.metrics}


def run(polls: list[DevicePoll]) -> list:
    out, state = [], None
    for p in polls:
        r = compute(state, p)
        state = r.state
        out.append(r)
    return out


def test_counter_delta_rules() -> None:
    assert counter_delta(10, 15, 32) == (5, "")
    assert counter_delta(M32 - 10, 5, 32) == (15, "wrap")
    # a "wrap" that would mean more than half the range is a discontinuity
    assert counter_delta(100, 50, 32) == (None, "discontinuity")
    # a plausible-looking 32-bit wrap faster than the interface is not a wrap
    assert counter_delta(M32 - 10, 10**6, 32, max_delta=1000)[0] is None
    # a Counter64 going backwards is never a wrap in practice
    assert counter_delta(10**12, 10**9, 64) == (None, "discontinuity")


def test_first_poll_gives_gauges_only_then_rates() -> None:
    r0, r1 = run([poll(1000, 100, iface(0, 0)), poll(1010, 1100, iface(12_500_000, 1_250_000))])
    assert "first" in r0.events
    assert ("if_in_bps", "1") not in values(r0)
    assert values(r0)[("if_oper_status", "1")] == 1
    v = values(r1)
    assert v[("if_in_bps", "1")] == pytest.approx(10_000_000)
    assert v[("if_out_bps", "1")] == pytest.approx(1_000_000)
    assert v[("if_in_util_pct", "1")] == pytest.approx(1.0)


def test_32bit_wrap_gives_the_true_rate() -> None:
    start = M32 - 6_250_000  # wraps within the next interval
    rs = run(
        [poll(0 + 1, 100, iface(start, 0, "counter32")), poll(11, 1100, iface(6_250_000, 0, "counter32"))]
    )
    v = values(rs[1])
    assert "wrap" in rs[1].events
    assert v[("if_in_bps", "1")] == pytest.approx(12_500_000 * 8 / 10)


def test_reboot_sysuptime_backwards_gives_no_rate_and_new_baseline() -> None:
    rs = run(
        [
            poll(1, 500_000, iface(10**9, 10**9)),
            poll(11, 501_000, iface(10**9 + 1000, 10**9 + 1000)),
            poll(21, 300, iface(2000, 2000)),  # rebooted: counters restarted
            poll(31, 1300, iface(3000, 4000)),
        ]
    )
    assert "reboot" in rs[2].events
    assert ("if_in_bps", "1") not in values(rs[2])
    assert values(rs[3])[("if_in_bps", "1")] == pytest.approx(800)
    assert all(m.value >= 0 for r in rs for m in r.batch.metrics)


def test_reboot_within_interval_detected_by_short_uptime() -> None:
    # uptime went from 100 s to 200 s, but 600 s passed: restarted in between
    rs = run([poll(0 + 1, 10_000, iface(5000, 5000)), poll(601, 20_000, iface(9000, 9000))])
    assert "reboot" in rs[1].events
    assert ("if_in_bps", "1") not in values(rs[1])


def test_counter64_backwards_is_a_discontinuity_not_a_spike() -> None:
    rs = run(
        [
            poll(1, 100, iface(10**12, 10**12)),
            poll(11, 1100, iface(10**6, 10**12 + 100)),  # in counter reset, out fine
            poll(21, 2100, iface(10**6 + 1000, 10**12 + 200)),
        ]
    )
    v1 = values(rs[1])
    assert "discontinuity" in rs[1].events
    assert ("if_in_bps", "1") not in v1
    assert v1[("if_out_bps", "1")] == pytest.approx(80)
    assert values(rs[2])[("if_in_bps", "1")] == pytest.approx(800)


def test_gap_gives_no_rate() -> None:
    rs = run(
        [
            poll(1, 100, iface(0, 0, "counter32")),
            poll(61, 6100, iface(1000, 1000, "counter32")),
            poll(3661, 366100, iface(2000, 2000, "counter32")),  # an hour of missed polls
            poll(3721, 372100, iface(3000, 3000, "counter32")),
        ]
    )
    assert "gap" in rs[2].events
    assert ("if_in_bps", "1") not in values(rs[2])
    assert values(rs[3])[("if_in_bps", "1")] == pytest.approx(1000 * 8 / 60)


def test_unreachable_keeps_baseline_and_replay_is_skipped() -> None:
    p0 = poll(1, 100, iface(0, 0))
    down = poll(11, None, [], status="unreachable", error="timeout")
    p2 = poll(21, 2100, iface(20_000, 0))
    r0 = compute(None, p0)
    r1 = compute(r0.state, down)
    assert r1.batch is None and r1.state == r0.state
    r2 = compute(r1.state, p2)
    assert values(r2)[("if_in_bps", "1")] == pytest.approx(8000)
    again = compute(r2.state, p2)
    assert again.replay and again.batch is None and again.state == r2.state


def test_rate_above_speed_is_flagged() -> None:
    # 10 Mbit/s interface, 100 Mbit/s worth of octets in 10 s on a 64-bit counter
    rs = run([poll(1, 100, iface(0, 0, speed_mbit=10)), poll(11, 1100, iface(125_000_000, 0, speed_mbit=10))])
    flags = rs[1].batch.flags
    assert flags[flag_key("if_in_bps", "1")] == "above_speed"
    assert flag_key("if_out_bps", "1") not in flags


def test_packets_errors_discards() -> None:
    def s(u: int, e: int) -> list[Sample]:
        return [
            Sample("ifHCInOctets", "2", 0, "counter64"),
            Sample("ifHCInUcastPkts", "2", u, "counter64"),
            Sample("ifHCInMulticastPkts", "2", u // 10, "counter64"),
            Sample("ifHCInBroadcastPkts", "2", 0, "counter64"),
            Sample("ifInErrors", "2", e, "counter32"),
            Sample("ifInDiscards", "2", 2 * e, "counter32"),
        ]

    rs = run([poll(1, 100, s(0, 0)), poll(11, 1100, s(1000, 50))])
    v = values(rs[1])
    assert v[("if_in_pps", "2")] == pytest.approx(110)
    assert v[("if_in_errors_ps", "2")] == pytest.approx(5)
    assert v[("if_in_discards_ps", "2")] == pytest.approx(10)


def cpu(user: int, system: int, idle: int, wait: int, kernel: int) -> list[Sample]:
    return [
        Sample("ssCpuRawUser", "", user, "counter32"),
        Sample("ssCpuRawNice", "", 0, "counter32"),
        Sample("ssCpuRawSystem", "", system, "counter32"),
        Sample("ssCpuRawIdle", "", idle, "counter32"),
        Sample("ssCpuRawWait", "", wait, "counter32"),
        Sample("ssCpuRawKernel", "", kernel, "counter32"),  # part of System on Linux
        Sample("hrProcessorLoad", "196608", 30, "integer"),
        Sample("hrProcessorLoad", "196609", 50, "integer"),
        Sample("laLoad", "1", 0.5, "gauge"),
    ]


def test_cpu_percentages_from_ticks() -> None:
    rs = run([poll(1, 100, cpu(1000, 500, 8000, 100, 400)), poll(11, 1100, cpu(1300, 600, 8550, 150, 480))])
    v = values(rs[1])
    # deltas: user 300, system 100, idle 550, wait 50 -> total 1000
    assert v[("cpu_user_pct", "")] == pytest.approx(30)
    assert v[("cpu_system_pct", "")] == pytest.approx(10)
    assert v[("cpu_iowait_pct", "")] == pytest.approx(5)
    assert v[("cpu_idle_pct", "")] == pytest.approx(55)
    assert v[("cpu_load_pct", "")] == pytest.approx(40)
    assert v[("load_1", "")] == 0.5


def test_cpu_ticks_wrap() -> None:
    rs = run([poll(1, 100, cpu(M32 - 100, 0, 0, 0, 0)), poll(11, 1100, cpu(100, 0, 200, 0, 0))])
    assert values(rs[1])[("cpu_user_pct", "")] == pytest.approx(50)


def test_memory_storage_diskio() -> None:
    samples = [
        Sample("memTotalReal", "", 1000, "integer"),
        Sample("memAvailReal", "", 200, "integer"),
        Sample("memBuffer", "", 100, "integer"),
        Sample("memCached", "", 300, "integer"),
        Sample("memTotalSwap", "", 400, "integer"),
        Sample("memAvailSwap", "", 300, "integer"),
        Sample("hrStorageSize", "31", 1000, "integer"),
        Sample("hrStorageUsed", "31", 250, "integer"),
        Sample("hrStorageAllocationUnits", "31", 4096, "integer"),
        Sample("hrStorageSize", "1", 1000, "integer"),
        Sample("hrStorageUsed", "1", 900, "integer"),
    ]
    props = [Prop("hrStorageDescr", "31", "/"), Prop("hrStorageDescr", "1", "Physical memory")]

    def io(r: int) -> list[Sample]:
        return [Sample("diskIONReadX", "7", r, "counter64"), Sample("diskIOBusyTime", "7", r, "counter64")]

    rs = run(
        [
            poll(1, 100, samples + io(0), [*props, Prop("diskIODevice", "7", "sda")]),
            poll(11, 1100, samples + io(5_000_000), [*props, Prop("diskIODevice", "7", "sda")]),
        ]
    )
    v = values(rs[1])
    assert v[("mem_used_pct", "")] == pytest.approx(40)
    assert v[("mem_cached_pct", "")] == pytest.approx(30)
    assert v[("swap_used_pct", "")] == pytest.approx(25)
    assert v[("disk_used_pct", "/")] == pytest.approx(25)
    assert v[("disk_used_bytes", "/")] == 250 * 4096
    assert ("disk_used_pct", "Physical memory") not in v
    assert v[("diskio_read_bps", "sda")] == pytest.approx(500_000)
    assert v[("diskio_busy_pct", "sda")] == pytest.approx(50)
    assert v[("sys_uptime_s", "")] == 11


def test_ping_metrics() -> None:
    b = ping_metrics(
        PingResult(device="r1", address="a", ts=5, sent=3, received=2, loss_pct=33.3, rtt_avg_ms=1.5)
    )
    assert {m.metric for m in b.metrics} == {"ping_loss_pct", "ping_rtt_avg_ms"}
    assert b.source == "icmp"


def test_state_roundtrips_through_msgpack() -> None:
    import msgspec

    r = compute(None, poll(1, 100, iface(5, 6)))
    assert r.state is not None
    blob = msgspec.msgpack.encode(r.state)
    assert msgspec.msgpack.decode(blob, type=DeviceState) == r.state


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(1, 900),  # interval
            st.integers(0, M32 - 1),  # raw 32-bit counter value (any: wraps, resets, garbage)
            st.booleans(),  # reboot before this poll
        ),
        min_size=2,
        max_size=30,
    )
)
def test_property_no_negative_rates_and_nothing_above_speed_unflagged(
    steps: list[tuple[float, int, bool]],
) -> None:
    ts, uptime, state = 1000.0, 100_000, None
    for interval, raw, reboot in steps:
        ts += interval
        uptime = 100 if reboot else uptime + int(interval * 100)
        r = compute(state, poll(ts, uptime, iface(raw, raw, "counter32", speed_mbit=100)))
        state = r.state
        assert r.batch is not None
        for m in r.batch.metrics:
            assert m.value >= 0, m
            if m.metric.endswith("_bps") and m.value > 100e6 * 1.05:
                assert r.batch.flags.get(flag_key(m.metric, m.instance)) == "above_speed"
