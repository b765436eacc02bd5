"""Records -> rows (pure): the binary COPY stream, inventory rows, event rows."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from netvigil.records import DevicePoll, Prop, Sample, SyslogMessage
from streams.rows import (
    COPY_HEADER,
    PG_EPOCH,
    changed,
    device_info,
    encode_copy_columns,
    encode_samples_copy,
    interface_rows,
    lldp_rows,
    msg_hash,
    pg_micros,
    syslog_row,
)


def parse_copy(data: bytes) -> list[tuple[int, float, float, str | None]]:
    """Read back PostgreSQL's binary COPY format (the subset we write)."""
    assert data.startswith(COPY_HEADER)
    pos, out = len(COPY_HEADER), []
    while True:
        (fields,) = struct.unpack_from(">h", data, pos)
        pos += 2
        if fields == -1:
            assert pos == len(data)
            return out
        assert fields == 4
        _, sid, _, us, _, value = struct.unpack_from(">iiiqid", data, pos)
        pos += 4 + 4 + 4 + 8 + 4 + 8
        (n,) = struct.unpack_from(">i", data, pos)
        pos += 4
        flag = None
        if n >= 0:
            flag = data[pos : pos + n].decode()
            pos += n
        out.append((sid, us / 1e6 + PG_EPOCH, value, flag))


def test_copy_stream_round_trips() -> None:
    rows = [(1, 1_760_000_000.25, 1.5, None), (2**31 - 1, 946684800.0, -3.0, "above_speed")]
    assert parse_copy(encode_samples_copy(rows)) == rows
    assert parse_copy(encode_samples_copy([])) == []


def poll() -> DevicePoll:
    return DevicePoll(
        device="sw1",
        address="127.0.0.1",
        ts=1.0,
        modules=["system", "interfaces", "lldp"],
        samples=[
            Sample("ifHighSpeed", "1", 1000, "gauge"),
            Sample("ifOperStatus", "1", 2, "integer"),
            Sample("ifAdminStatus", "1", 1, "integer"),
            Sample("ifSpeed", "10", 10_000_000, "gauge"),
        ],
        props=[
            Prop("sysName", "", "sw1.lab"),
            Prop("sysDescr", "", "Linux"),
            Prop("ifName", "1", "ge-0/0/1"),
            Prop("ifAlias", "1", "uplink"),
            Prop("ifName", "10", "lo"),
            Prop("lldpRemChassisId", "1.3", "aa:bb"),
            Prop("lldpRemSysName", "1.3", "core1"),
            Prop("lldpRemPortId", "1.3", "Gi0/1"),
        ],
    )


def test_inventory_rows() -> None:
    p = poll()
    assert device_info(p) == ("sw1.lab", "Linux", None)
    assert interface_rows(p) == [
        (1, "ge-0/0/1", "uplink", None, 1e9, 1, 2),
        (10, "lo", None, None, 10_000_000, None, None),
    ]
    assert lldp_rows(p) == [("1", "aa:bb", "core1", "Gi0/1")]


def test_changed_remembers_last_rows() -> None:
    cache: dict[str, int] = {}
    assert changed(cache, "if:sw1", [(1, "a")])
    assert not changed(cache, "if:sw1", [(1, "a")])
    assert changed(cache, "if:sw1", [(1, "b")])


def test_syslog_row_strips_nul_and_hashes_payload() -> None:
    m = SyslogMessage(ts=5.0, source="10.0.0.1", message="a\x00b", raw="<3>a\x00b")
    row = syslog_row(m, b"payload")
    assert row[1] == msg_hash(b"payload") and len(row[1]) == 20
    assert row[-2:] == ("ab", "<3>ab")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**31), 2**31 - 1),
            st.floats(0, 4e9, allow_nan=False),
            st.floats(allow_nan=False),
            st.one_of(st.none(), st.sampled_from(["above_speed", "x", "é"])),
        ),
        max_size=40,
    )
)
def test_column_encoder_matches_row_encoder(rows: list[tuple[int, float, float, str | None]]) -> None:
    """The numpy column encoder the worker uses writes exactly the reference row stream."""
    flags = {i: f for i, (_, _, _, f) in enumerate(rows) if f is not None}
    got = encode_copy_columns(
        [r[0] for r in rows], [pg_micros(r[1]) for r in rows], [r[2] for r in rows], flags
    )
    assert got == encode_samples_copy(rows)
