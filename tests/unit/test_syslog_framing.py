"""RFC 6587 framing: octet counting and LF framing, mixed, split anywhere, oversized."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingest.syslog.framing import Framer

MSGS = [b"<13>1 - - - - - - one", b"<13>Nov 25 00:00:00 h app: two", b"<14>three with\nnewline"]


def _octet(m: bytes) -> bytes:
    return str(len(m)).encode() + b" " + m


def test_octet_counting_keeps_embedded_newlines() -> None:
    f = Framer()
    assert f.feed(b"".join(_octet(m) for m in MSGS)) == MSGS


def test_lf_framing_and_crlf() -> None:
    f = Framer()
    assert f.feed(b"<13>a\r\n<13>b\n\n<13>c") == [b"<13>a\r", b"<13>b"]
    assert f.close() == [b"<13>c"]


def test_mixed_per_message() -> None:
    f = Framer()
    data = _octet(MSGS[0]) + b"<13>lf framed\n" + _octet(MSGS[1])
    assert f.feed(data) == [MSGS[0], b"<13>lf framed", MSGS[1]]


def test_short_digit_line_is_lf_framed() -> None:
    assert Framer().feed(b"12\n") == [b"12"]


def test_oversized_octet_frame_is_cut_and_rest_skipped() -> None:
    f = Framer(limit=10)
    big = b"x" * 100
    out = f.feed(_octet(big)[:50])
    assert out == [b"x" * 11]
    assert f.feed(_octet(big)[50:] + _octet(b"<1>ok")) == [b"<1>ok"]


def test_oversized_lf_line_is_cut_and_rest_dropped() -> None:
    f = Framer(limit=10)
    assert f.feed(b"y" * 30) == [b"y" * 11]
    assert f.feed(b"y" * 30 + b"\n<1>next\n") == [b"<1>next"]


@given(
    st.lists(st.binary(min_size=1, max_size=50).filter(lambda b: b[:1] not in b"\r\n\x00"), max_size=20),
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=10),
)
def test_octet_counted_stream_split_anywhere(msgs: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(_octet(m) for m in msgs)
    f = Framer()
    out: list[bytes] = []
    pos = 0
    i = 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        out += f.feed(stream[pos : pos + step])
        pos += step
        i += 1
    assert out == msgs
