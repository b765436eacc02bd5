"""Pure logic of the app: passwords and roles, source choice, filters, grouping, parsing, charts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from app_streamlit import auth, charts
from app_streamlit.cli import streamlit_command
from app_streamlit.data import alerts, devices, events, models, topology
from app_streamlit.data.common import choose_source, like_pattern
from app_streamlit.live import parse_live


def test_hash_and_authenticate() -> None:
    digest = auth.hash_password("s3cret", rounds=4)
    assert digest.startswith("$2") and "s3cret" not in digest
    users = {
        "ann": {"password_hash": digest, "role": "operator"},
        "bad": {"password_hash": "nonsense", "role": "admin"},
    }
    assert auth.authenticate(users, "ann", "s3cret") == "operator"
    assert auth.authenticate(users, "ann", "wrong") is None
    assert auth.authenticate(users, "nobody", "s3cret") is None
    assert auth.authenticate(users, "bad", "anything") is None  # malformed hash refuses, never raises
    odd = {"eve": {"password_hash": digest, "role": "root"}}
    assert auth.authenticate(odd, "eve", "s3cret") is None  # unknown roles get nothing
    with pytest.raises(ValueError):
        auth.hash_password("")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", {"view"}),
        ("operator", {"view", "acknowledge", "note", "false_positive", "silence"}),
        ("admin", set(auth.ACTIONS)),
        (None, set()),
        ("guest", set()),
    ],
)
def test_roles(role: str | None, allowed: set[str]) -> None:
    assert {a for a in auth.ACTIONS if auth.can(role, a)} == allowed
    for action in set(auth.ACTIONS) - allowed:
        with pytest.raises(auth.AccessDenied):
            auth.require(role, action)


def test_source_follows_range() -> None:
    assert choose_source(timedelta(hours=1)) == "raw"
    assert choose_source(timedelta(hours=6)) == "raw"
    assert choose_source(timedelta(days=1)) == "1m"
    assert choose_source(timedelta(days=2)) == "1m"
    assert choose_source(timedelta(days=7)) == "1h"


def test_like_pattern_takes_wildcards_literally() -> None:
    assert like_pattern("a%b_c\\") == "%a\\%b\\_c\\\\%"
    assert like_pattern("") == "%%"


def test_tag_filter() -> None:
    assert alerts.tag_filter("") == (None, None)
    assert alerts.tag_filter(" site ") == (None, "site")
    contains, key = alerts.tag_filter("site = lon-1")
    assert key is None and json.loads(contains or "") == {"site": "lon-1"}


def test_group_by_root_cause() -> None:
    frame = pd.DataFrame(
        {
            "key": ["sym1", "root", "lone", "sym2", "orphan"],
            "root_cause": [None, None, "", "root", "gone"],
        }
    )
    frame.loc[0, "root_cause"] = "root"
    groups = alerts.group_by_root_cause(frame)
    assert groups[0][0] == "root"
    assert list(groups[0][1]["key"]) == ["root", "sym1", "sym2"]
    assert {g[0] for g in groups} == {"root", "lone", "gone"}
    assert alerts.group_by_root_cause(frame.iloc[0:0]) == []


def test_parse_live() -> None:
    raw = {
        b"_ts": b"1700000100.5",
        b"cpu_user_pct|": b"12.5",
        b"swap_used_pct|": b"nan",
        b"if_in_bps|3": json.dumps({"value": 1e6, "ts": 1_700_000_000}).encode(),
        "disk_used_pct|/": json.dumps({"v": 40, "t": "2026-01-01T00:00:00+00:00"}),
        b"junk": b"not json",
        b"flag": b"true",
    }
    frame = parse_live(raw)
    assert list(frame["metric"]) == ["cpu_user_pct", "disk_used_pct", "if_in_bps", "swap_used_pct"]
    assert frame.set_index("metric").loc["cpu_user_pct", "ts"] == datetime.fromtimestamp(1700000100.5, UTC)
    assert frame.set_index("metric").loc["if_in_bps", "instance"] == "3"
    assert frame.set_index("metric").loc["if_in_bps", "ts"] == datetime.fromtimestamp(1_700_000_000, UTC)
    assert parse_live({}).empty


def test_csv_export_defuses_formulas() -> None:
    frame = pd.DataFrame({"message": ['=HYPERLINK("x")', "plain", "@SUM(1)"], "n": [1, 2, 3]})
    text = events.to_csv(frame).decode()
    assert "'=HYPERLINK" in text and "'@SUM" in text and "plain" in text


def test_layout_is_deterministic_and_spread() -> None:
    nodes = [f"n{i}" for i in range(20)]
    edges = [(f"n{i}", f"n{(i - 1) // 3}") for i in range(1, 20)]
    a = topology.layout(nodes, edges)
    assert a == topology.layout(nodes, edges)
    xs = [p[0] for p in a.values()]
    assert max(xs) - min(xs) > 0.5
    assert topology.layout([], []) == {}
    assert topology.layout(["x"], []) == {"x": (0.0, 0.0)}


def test_timeseries_figure_layers() -> None:
    ts = pd.date_range("2026-01-01", periods=10, freq="1min", tz="UTC")
    data = pd.DataFrame({"ts": ts, "metric": "cpu_user_pct", "instance": "", "value": range(10)})
    yesterday = devices.day_over_day(data.assign(ts=ts - timedelta(days=1)))
    assert (yesterday["ts"] == ts).all()
    scores = data.assign(score=0.9, is_anomaly=[False] * 9 + [True], expected_low=0.0, expected_high=5.0)
    trend = pd.DataFrame(
        [
            {
                "metric": "cpu_user_pct",
                "instance": "",
                "ts": ts[-1],
                "horizon_s": 3600,
                "slope_per_s": 0.01,
                "intercept": 9,
                "threshold": 90,
                "crossing_at": None,
            }
        ]
    )
    fig = charts.timeseries(data, "CPU", "%", {"cpu_user_pct": "user"}, yesterday, scores, trend)
    names = [t.name for t in fig.data]
    assert "user" in names and "user anomaly" in names and "user trend" in names and "user expected" in names
    empty = charts.timeseries(data.iloc[0:0], "CPU")
    assert empty.layout.annotations[0].text == "no data in this range"


def test_network_figure_carries_device_names() -> None:
    nodes = pd.DataFrame({"name": ["a", "b"], "status": ["up", "down"]})
    edges = pd.DataFrame({"source": ["a"], "target": ["b"]})
    fig = charts.network(nodes, edges, {"a": (0, 0), "b": (1, 1)})
    assert {c for t in fig.data[1:] for c in t.customdata} == {"a", "b"}


def test_metric_columns() -> None:
    frame = pd.DataFrame({"family": ["cpu"], "metrics": [json.dumps({"nab_standard": 70.1})]})
    assert models.metric_columns(frame).loc[0, "nab_standard"] == 70.1


def test_streamlit_command() -> None:
    cmd = streamlit_command("127.0.0.1", 8599)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("server.py")
    assert cmd[cmd.index("--server.port") + 1] == "8599" and "--server.headless" in cmd


def test_event_search_slices_newest_first() -> None:
    from app_streamlit.data.events import _slices

    end = datetime(2026, 1, 31, tzinfo=UTC)
    month = _slices(end - timedelta(days=30), end)
    assert [hi - lo for lo, hi in month] == [timedelta(days=1), timedelta(days=6), timedelta(days=23)]
    assert month[0][1] == end and month[-1][0] == end - timedelta(days=30)
    assert _slices(end - timedelta(hours=5), end) == [(end - timedelta(hours=5), end)]
