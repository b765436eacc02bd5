"""Pure parts of the ICMP prober: statistics, packets, the CLI table."""

from __future__ import annotations

import struct

import pytest

from ingest.cli_ping import format_table
from ingest.icmp.packet import ECHO_REPLY, checksum, echo_request, parse_reply
from ingest.icmp.stats import jitter, summarize


def test_jitter_is_mean_absolute_successive_difference() -> None:
    assert jitter([1.0, 3.0, 2.0]) == pytest.approx(1.5)  # |3-1| + |2-3| over 2
    assert jitter([5.0, 5.0]) == 0.0
    assert jitter([2.0]) is None
    assert jitter([]) is None


def test_summarize_all_answered() -> None:
    r = summarize("r1", "127.0.0.5", 3, [1.0, 2.0, 4.0], ts=10.0)
    assert (r.sent, r.received, r.loss_pct) == (3, 3, 0.0)
    assert (r.rtt_min_ms, r.rtt_avg_ms, r.rtt_max_ms) == (1.0, pytest.approx(7 / 3), 4.0)
    assert r.jitter_ms == pytest.approx(1.5)
    assert r.error is None
    r.validate()


def test_summarize_partial_and_total_loss() -> None:
    r = summarize("r1", "127.0.0.5", 3, [2.0])
    assert r.loss_pct == pytest.approx(66.667)
    assert r.jitter_ms is None
    down = summarize("r1", "127.0.0.5", 3, [])
    assert (down.received, down.loss_pct, down.rtt_avg_ms) == (0, 100.0, None)


def test_summarize_send_failure_is_a_result() -> None:
    r = summarize("r1", "bogus", 0, [], error="not an IP address")
    assert (r.sent, r.loss_pct, r.error) == (0, 100.0, "not an IP address")
    r.validate()


def test_echo_request_checksum_verifies() -> None:
    packet = echo_request(0x1234, 7)
    assert checksum(packet) == 0
    kind, code, _, ident, seq = struct.unpack_from("!BBHHH", packet)
    assert (kind, code, ident, seq) == (8, 0, 0x1234, 7)
    assert checksum(b"\x01") == checksum(b"\x01\x00")  # odd length is padded


def test_parse_reply_with_and_without_ip_header() -> None:
    icmp = struct.pack("!BBHHH", ECHO_REPLY, 0, 0, 99, 3) + b"payload"
    ip_header = bytes([0x45]) + bytes(19)
    assert parse_reply(icmp, has_ip_header=False) == (99, 3)
    assert parse_reply(ip_header + icmp, has_ip_header=True) == (99, 3)
    assert parse_reply(echo_request(99, 3), has_ip_header=False) is None  # a request, not a reply
    assert parse_reply(b"\x45\x00", has_ip_header=True) is None
    assert parse_reply(b"", has_ip_header=True) is None


def test_format_table() -> None:
    text = format_table(
        [summarize("a", "127.0.0.1", 2, [0.5, 0.7]), summarize("b", "bogus", 0, [], error="bad")]
    )
    lines = text.splitlines()
    assert lines[0].split() == ["TARGET", "SENT", "RECV", "LOSS%", "MIN", "AVG", "MAX", "JITTER", "ERROR"]
    assert lines[1].split()[:4] == ["127.0.0.1", "2", "2", "0"]
    assert lines[2].split() == ["bogus", "0", "0", "100", "-", "-", "-", "-", "bad"]
