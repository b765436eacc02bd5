"""The worker's per-device series-id cache (pure): shapes, unions, misses, bounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.series import SeriesCache


def shape(keys: list[tuple[str, str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(m for m, _ in keys), tuple(i for _, i in keys)


def test_unknown_device_misses_then_hits_in_order() -> None:
    cache = SeriesCache()
    keys = [("if_in_bps", "1"), ("if_out_bps", "1"), ("cpu_user_pct", "")]
    assert cache.lookup("r1", *shape(keys)) is None
    assert cache.missing("r1", *shape(keys)) == keys
    cache.add("r1", {("cpu_user_pct", ""): 7, ("if_out_bps", "1"): 6, ("if_in_bps", "1"): 5})
    assert cache.ids_of("r1", *shape(keys)).tolist() == [5, 6, 7]
    assert cache.lookup("r1", *shape(keys[::-1])).tolist() == [7, 6, 5]  # type: ignore[union-attr]
    assert cache.lookup("r2", *shape(keys)) is None
    assert len(cache) == 3


def test_a_new_series_misses_only_itself() -> None:
    cache = SeriesCache()
    cache.add("r1", {("a", ""): 1, ("b", ""): 2})
    keys = [("a", ""), ("c", "x"), ("b", "")]
    assert cache.lookup("r1", *shape(keys)) is None
    assert cache.missing("r1", *shape(keys)) == [("c", "x")]
    cache.add("r1", {("c", "x"): 3, ("a", ""): 1})
    assert cache.ids_of("r1", *shape(keys)).tolist() == [1, 3, 2]
    assert cache.ids_of("r1", *shape([("b", "")])).tolist() == [2]  # a smaller shape: from the union
    assert len(cache) == 3


def test_device_count_is_bounded() -> None:
    cache = SeriesCache(max_devices=10)
    for d in range(25):
        cache.add(f"d{d}", {("m", ""): d})
    assert len(cache.devices) <= 10
    assert cache.lookup("d24", ("m",), ("",)).tolist() == [24]  # type: ignore[union-attr]
    assert cache.lookup("d0", ("m",), ("",)) is None  # dropped: looked up in PostgreSQL again


names = st.sampled_from(["if_in_bps", "if_out_bps", "cpu_user_pct", "disk_used_pct"])
insts = st.sampled_from(["", "1", "2", "/"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(names, insts), max_size=12), min_size=1, max_size=6))
def test_cache_agrees_with_a_plain_dict(polls: list[list[tuple[str, str]]]) -> None:
    """Whatever the sequence of shapes, ids are those a (metric, instance) dict would give."""
    cache, truth = SeriesCache(), dict[tuple[str, str], int]()
    for keys in polls:
        ids = cache.lookup("dev", *shape(keys))
        if ids is None:
            missing = cache.missing("dev", *shape(keys))
            assert set(missing) <= set(keys) and missing
            for k in missing:
                truth.setdefault(k, len(truth) + 1)
            cache.add("dev", {k: truth[k] for k in missing})
            ids = cache.ids_of("dev", *shape(keys))
        assert ids.tolist() == [truth[k] for k in keys]
