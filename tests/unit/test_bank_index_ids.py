"""``DetectorBank.index_ids`` (integer keys, numpy lookup) hands out the rows ``index`` would.

The stream worker addresses banks by series id; keys stay strings inside the
bank, so snapshots taken before ``index_ids`` existed restore and are found.
Also: ``ForecastWindows.add_many`` gives what ``add`` point by point gives.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from models.online import DETECTORS, DetectorBank, make_detector
from streams.anomaly.forecasting import ForecastWindows


@pytest.mark.parametrize("name", DETECTORS)
def test_index_ids_matches_index_with_new_repeated_and_removed_keys(name: str) -> None:
    rng = np.random.default_rng(1)
    by_ids, by_str = make_detector(name), make_detector(name)
    by_ids.index(["7", "dev-a"])  # keys made by index (and a non-integer one) are found too
    by_str.index(["7", "dev-a"])
    for step in range(40):
        ids = rng.integers(0, 300, rng.integers(1, 60))  # repeats within a call, new ones each call
        assert by_ids.index_ids(ids).tolist() == by_str.index([str(i) for i in ids.tolist()]).tolist()
        if step % 9 == 4:
            gone = [str(i) for i in rng.choice(300, 20, replace=False).tolist()]
            by_ids.remove(gone)
            by_str.remove(gone)
    assert by_ids.keys() == by_str.keys()


@pytest.mark.parametrize("name", DETECTORS)
def test_index_of_many_new_keys_at_once_equals_one_key_at_a_time(name: str) -> None:
    """The batched reset of new rows leaves exactly the state a per-key reset left, freed rows too."""
    rng = np.random.default_rng(2)
    batched, single = make_detector(name), make_detector(name)
    for step in range(12):
        keys = [str(k) for k in rng.integers(0, 3000, rng.integers(1, 900)).tolist()]
        rows = batched.index(keys)
        assert rows.tolist() == [int(single.index([k])[0]) for k in keys]
        for k, arr in batched._state.items():  # learned state in the rows (a reused row must be reset)
            noise = rng.integers(1, 200, (len(rows), *arr.shape[1:])).astype(arr.dtype)
            arr[rows] = noise
            single._state[k][rows] = noise
        if step % 4 == 2:
            gone = [str(k) for k in rng.choice(3000, 400, replace=False).tolist()]
            batched.remove(gone)
            single.remove(gone)
    assert batched.keys() == single.keys()
    assert batched._free == single._free
    assert batched._state.keys() == single._state.keys()
    for k, arr in batched._state.items():
        np.testing.assert_array_equal(arr, single._state[k], err_msg=k)  # capacity included


@pytest.mark.parametrize("name", DETECTORS)
def test_banks_with_string_keys_restore_and_are_found_by_id(name: str) -> None:
    old = make_detector(name)
    rows = old.index(["12", "5", "99"])  # as a worker before index_ids keyed its banks
    old.update(rows, np.zeros(3), np.ones(3))
    back = DetectorBank.restore(old.snapshot())
    assert back.index_ids(np.array([99, 12, 5, 1000])).tolist() == [*rows[[2, 0, 1]].tolist(), 3]
    assert back.keys() == ["12", "5", "99", "1000"]


def test_a_pickled_bank_without_the_id_table_still_indexes() -> None:
    bank = make_detector("default")
    bank.index(["3", "4"])
    del bank.__dict__["_ids"]  # as pickled by a version without it
    again = pickle.loads(pickle.dumps(bank))
    assert again.index_ids(np.array([4, 3, 8])).tolist() == [1, 0, 2]


def test_add_many_matches_add_point_by_point() -> None:
    rng = np.random.default_rng(4)
    one, many = ForecastWindows(every=300, min_span=1800), ForecastWindows(every=300, min_span=1800)
    got, want = [], []
    for r in range(150):
        sids = rng.integers(0, 8, 12)  # the same series more than once in a call
        ts = 60.0 * r + rng.uniform(0, 50, 12)
        vals = 40 + 0.05 * r * (sids + 1) + rng.normal(0, 0.3, 12)
        thr = np.full(12, 85.0)
        got += [(j, f) for j, f in many.add_many(sids, ts, vals, thr)]
        for j, (s, t, v) in enumerate(zip(sids.tolist(), ts.tolist(), vals.tolist(), strict=True)):
            f = one.add(s, t, v, 85.0)
            if f is not None:
                want.append((j, f))
    assert got == want and len(got) > 20
    assert many.snapshot() == one.snapshot()
