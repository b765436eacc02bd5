"""The syslog parser against recorded vendor lines (golden files) and edge cases.

Each ``tests/data/syslog/NAME.txt`` holds one message per line; the expected
fields are in ``NAME.json``. After a deliberate parser change, regenerate with
``SYSLOG_GOLDEN_UPDATE=1 pytest tests/unit/test_syslog_parse.py`` and review
the diff line by line.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.syslog.parse import MAX_MESSAGE, parse, split_pri
from ingest.syslog.rfc5424 import parse_sd
from ingest.syslog.timestamps import month_day_to_epoch
from netvigil.topics import decode, encode

DATA = Path(__file__).resolve().parent.parent / "data" / "syslog"
RECEIVED = datetime(2026, 11, 25, 1, 0, 0, tzinfo=UTC).timestamp()
FIELDS = (
    "format",
    "facility",
    "severity",
    "hostname",
    "app",
    "procid",
    "msgid",
    "structured_data",
    "message",
)


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")


def _summary(line: bytes) -> dict[str, Any]:
    msg = parse(line, received=RECEIVED, source="192.0.2.10")
    out: dict[str, Any] = {"line": line.decode(errors="backslashreplace")}
    out.update({f: getattr(msg, f) for f in FIELDS})
    out["timestamp"] = msg.timestamp
    out["timestamp_utc"] = (
        None if msg.timestamp is None else datetime.fromtimestamp(msg.timestamp, UTC).isoformat()
    )
    out["raw_is_line"] = msg.raw == line.decode(errors="backslashreplace").rstrip("\r\n\x00")
    return out


@pytest.mark.parametrize("name", sorted(p.stem for p in DATA.glob("*.txt")))
def test_golden(name: str) -> None:
    got = [_summary(line) for line in _lines(DATA / f"{name}.txt")]
    golden = DATA / f"{name}.json"
    if os.environ.get("SYSLOG_GOLDEN_UPDATE"):
        golden.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(golden.read_text())
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g == e, g["line"]


def test_every_record_survives_the_topic_codec() -> None:
    for path in DATA.glob("*.txt"):
        for line in _lines(path):
            msg = parse(line, received=RECEIVED, source="192.0.2.10", transport="tcp")
            assert decode("syslog", encode(msg)) == msg
            assert msg.raw or not line.strip()


def test_oversized_is_cut_and_marked() -> None:
    msg = parse(b"<13>Nov 25 00:00:00 h app: " + b"x" * (MAX_MESSAGE * 2), received=RECEIVED, source="s")
    assert msg.format == "rfc3164"
    assert len(msg.raw) == MAX_MESSAGE
    assert msg.structured_data["netvigil"]["truncated"] == str(MAX_MESSAGE)


def test_invalid_utf8_keeps_the_bytes_in_raw() -> None:
    msg = parse(b"<13>Nov 25 00:00:00 h app: caf\xe9", received=RECEIVED, source="s")
    assert msg.message == "caf\ufffd"
    assert msg.raw.endswith("caf\\xe9")


@pytest.mark.parametrize(
    ("text", "pri"),
    [("<0>x", 0), ("<191>x", 191), ("<192>x", None), ("<01>x", None), ("<>x", None), ("<1234>x", None)],
)
def test_split_pri(text: str, pri: int | None) -> None:
    assert split_pri(text)[0] == pri


def test_year_inference_around_new_year() -> None:
    jan1 = datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC).timestamp()
    t = month_day_to_epoch(12, 31, 23, 59, 59, None, None, jan1)
    assert t == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
    dec31 = datetime(2026, 12, 31, 23, 59, 0, tzinfo=UTC).timestamp()
    t = month_day_to_epoch(1, 1, 0, 0, 1, None, None, dec31)
    assert t == datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC).timestamp()
    assert (
        month_day_to_epoch(2, 29, 0, 0, 0, None, None, RECEIVED)
        == datetime(2024, 2, 29, tzinfo=UTC).timestamp()
    )


_sd_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,8}@[0-9]{1,5}", fullmatch=True),
        st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), _sd_text, max_size=3),
        max_size=3,
    )
)
def test_sd_round_trip(sd: dict[str, dict[str, str]]) -> None:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")

    text = "".join(
        "[" + sid + "".join(f' {k}="{esc(v)}"' for k, v in params.items()) + "]" for sid, params in sd.items()
    )
    parsed = parse_sd(text)
    assert parsed is not None
    assert parsed[0] == sd
    assert parsed[1] == len(text)


@given(st.binary(max_size=300))
def test_never_raises_and_keeps_everything(data: bytes) -> None:
    msg = parse(data, received=RECEIVED, source="s")
    assert msg.raw == data.decode(errors="backslashreplace").rstrip("\r\n\x00")
    msgspec.json.encode(msg)
