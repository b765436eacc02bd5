"""The detector-bank interface: many series' state in numpy arrays, updated in batches.

A stream worker holds hundreds of thousands of series; a Python object per series
would cost kilobytes and microseconds each.  A bank keeps every series' state as one
row of a set of arrays (struct-of-arrays), so a batch of points from many series is
scored and learned with a handful of vectorised numpy operations.

Contract for every bank: ``update`` scores each point first and learns from it after;
the constructor only stores its arguments; ``snapshot``/``restore`` (and pickle)
round-trip the whole state; series are added by ``index`` and dropped by ``remove``.
"""

from __future__ import annotations

import io
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

log = logging.getLogger(__name__)


def _is_int_key(key: str) -> bool:
    """A key ``index_ids`` can hold: the canonical decimal form of an int."""
    try:
        v = int(key)
    except ValueError:
        return False
    return str(v) == key and -(2**63) <= v < 2**63


@dataclass(frozen=True)
class BankResult:
    """Per-point outputs of ``update``, aligned with its input arrays.

    raw: the detector's raw surprise in [0, 1] (before calibration).
    likelihood: calibrated probability in [0, 1] that the recent raw scores are
        unusually high for this series (Numenta-style anomaly likelihood).
    score: the value that is stored and thresholded (NAB's ``anomaly_score``): a
        log-scaled likelihood in [0, 1], held low during suppression after a flag.
    flag: True at the onset of an incident (score >= the bank's fixed threshold).
    lower, upper: the expected range of the value before it was seen.
    """

    raw: np.ndarray
    likelihood: np.ndarray
    score: np.ndarray
    flag: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


class DetectorBank(ABC):
    """Base class: key map, growth, removal, de-duplicated batches, snapshots.

    Subclasses declare ``_fields`` (name -> (dtype, initial value)) and implement
    ``_step`` on gathered state rows; everything else is shared.
    """

    name: ClassVar[str] = "abstract"
    _fields: ClassVar[dict[str, tuple[str, float]]] = {}
    _vector_fields: ClassVar[dict[str, tuple[str, int, float]]] = {}

    def __init__(self, seed: int = 0, threshold: float = 0.5, capacity: int = 1024) -> None:
        self.seed = seed
        self.threshold = threshold
        self.capacity = capacity
        self._keys: dict[str, int] = {}
        self._free: list[int] = []
        self._state: dict[str, np.ndarray] = {}
        # integer keys (series ids) -> row, sorted by key, for index_ids; None: rebuild from _keys
        self._ids: tuple[np.ndarray, np.ndarray] | None = None

    # ----- state layout ---------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        """Constructor arguments, for cloning and snapshots."""
        return {"seed": self.seed, "threshold": self.threshold, "capacity": self.capacity}

    def clone(self) -> DetectorBank:
        """A fresh, empty bank with the same parameters."""
        return type(self)(**self._params())

    def _alloc(self, n: int) -> dict[str, np.ndarray]:
        out = {k: np.full(n, init, dtype=dt) for k, (dt, init) in self._fields.items()}
        for k, (dt, width, init) in self._vector_fields.items():
            out[k] = np.full((n, width), init, dtype=dt)
        return out

    def _ensure(self, n: int) -> None:
        if not self._state:
            self._state = self._alloc(max(self.capacity, 1))
        cap = len(next(iter(self._state.values())))
        if n <= cap:
            return
        new_cap = max(n, 2 * cap)
        # One field at a time: the old and new copies of the whole bank never coexist (at a
        # million series the default bank is ~1.3 GB). The scale bench's peak RSS did not
        # move measurably with it (~3.05 GB before and after): the peak is elsewhere.
        fresh = self._alloc(1)
        for k, one in fresh.items():
            old = self._state.pop(k, None)
            grown = np.empty((new_cap, *one.shape[1:]), dtype=one.dtype)
            grown[cap:] = one[0]
            grown[:cap] = one[0] if old is None else old
            self._state[k] = grown
            del old
        for k in [k for k in self._state if k not in fresh]:
            del self._state[k]  # a field no longer declared (restored from an older snapshot)
        log.debug("%s bank grown to %d series", self.name, new_cap)

    def _reset_rows(self, rows: np.ndarray) -> None:
        fresh = self._alloc(1)
        for k, arr in self._state.items():
            arr[rows] = fresh[k][0]

    # ----- series keys ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._keys)

    def keys(self) -> list[str]:
        return list(self._keys)

    def index(self, keys: Sequence[str]) -> np.ndarray:
        """Row index of each key, creating (empty) state for keys not seen before.

        New keys get their rows in order (freed rows first), then the arrays
        grow and the new rows are reset once for the whole call: a cold
        worker meets a million new series, and a reset per key (an
        allocation per field each) cost more than scoring them.
        """
        out = np.empty(len(keys), dtype=np.int64)
        new_rows: list[int] = []
        for i, key in enumerate(keys):
            row = self._keys.get(key)
            if row is None:
                row = self._free.pop() if self._free else len(self._keys) + len(self._free)
                self._keys[key] = row
                new_rows.append(row)
            out[i] = row
        if new_rows:
            self._grow_to(max(new_rows) + 1)
            self._reset_rows(np.array(new_rows, dtype=np.int64))
        return out

    def _grow_to(self, n: int) -> None:
        """``_ensure`` by doublings, as growing one new row at a time would have (same capacity)."""
        if not self._state:
            self._ensure(1)
        cap = len(next(iter(self._state.values())))
        while cap < n:
            cap *= 2
        self._ensure(cap)

    def index_ids(self, ids: np.ndarray) -> np.ndarray:
        """``index([str(i) for i in ids])`` for integer keys, looked up in numpy (no str per point).

        The stream worker keys series by their integer id; a sorted (id, row)
        table answers the known ones with one ``searchsorted``.  Unknown ones go
        through ``index`` in point order (so rows are handed out exactly as
        ``index`` would) and are merged into the table.  Keys stay strings in
        ``_keys``, so snapshots are unchanged.
        """
        want = np.asarray(ids, dtype=np.int64)
        known, rows_of = self._id_table()
        at = np.minimum(np.searchsorted(known, want), max(len(known) - 1, 0))
        hit = known[at] == want if len(known) else np.zeros(len(want), dtype=bool)
        rows = rows_of[at] if len(known) else np.zeros(len(want), dtype=np.int64)
        if hit.all():
            return rows
        miss = np.flatnonzero(~hit)
        rows[miss] = self.index([str(i) for i in want[miss].tolist()])
        new_ids, first = np.unique(want[miss], return_index=True)
        place = np.searchsorted(known, new_ids)
        self._ids = (np.insert(known, place, new_ids), np.insert(rows_of, place, rows[miss][first]))
        return rows

    def _id_table(self) -> tuple[np.ndarray, np.ndarray]:
        table = getattr(self, "_ids", None)  # banks pickled before the table existed have none
        if table is None:
            pairs = [(int(k), r) for k, r in self._keys.items() if _is_int_key(k)]
            arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
            order = np.argsort(arr[:, 0], kind="stable")
            table = self._ids = (arr[order, 0].copy(), arr[order, 1].copy())
        return table

    def remove(self, keys: Sequence[str]) -> None:
        """Forget series (an interface that went away); their rows are reused later."""
        table = getattr(self, "_ids", None)
        if table is not None:
            gone = np.array([int(k) for k in keys if _is_int_key(k)], dtype=np.int64)
            keep = ~np.isin(table[0], gone)
            self._ids = (table[0][keep], table[1][keep])
        for key in keys:
            row = self._keys.pop(key, None)
            if row is not None:
                self._free.append(row)
                self._forget(row)

    def _forget(self, row: int) -> None:
        """Hook for banks holding per-row Python objects (array rows are reset on reuse)."""
        return None

    # ----- updating ----------------------------------------------------------------------
    def update(self, series_idx: np.ndarray, ts: np.ndarray, values: np.ndarray) -> BankResult:
        """Score then learn a batch of points; a series may appear several times.

        Points of one series are processed in the order given (split into rounds so
        each round touches a row once); ``ts`` is epoch seconds.
        """
        idx = np.asarray(series_idx, dtype=np.int64)
        ts_a = np.asarray(ts, dtype=np.float64)
        x = np.asarray(values, dtype=np.float64)
        if not (len(idx) == len(ts_a) == len(x)):
            raise ValueError("series_idx, ts and values must have the same length")
        self._ensure(int(idx.max()) + 1 if len(idx) else 1)
        order = np.argsort(idx, kind="stable")
        sorted_idx = idx[order]
        first = np.r_[True, sorted_idx[1:] != sorted_idx[:-1]]
        starts = np.maximum.accumulate(np.where(first, np.arange(len(idx)), 0))
        rank = np.empty(len(idx), dtype=np.int64)
        rank[order] = np.arange(len(idx)) - starts
        parts = {k: np.empty(len(idx)) for k in ("raw", "likelihood", "score", "lower", "upper")}
        flag = np.zeros(len(idx), dtype=bool)
        rounds = int(rank.max()) + 1 if len(idx) else 0
        for r in range(rounds):
            sel = np.arange(len(idx)) if rounds == 1 else np.flatnonzero(rank == r)
            res = self._step(idx[sel], ts_a[sel], x[sel])
            for k, arr in parts.items():
                arr[sel] = getattr(res, k)
            flag[sel] = res.flag
        return BankResult(flag=flag, **parts)

    def update_keys(self, keys: Sequence[str], ts: np.ndarray, values: np.ndarray) -> BankResult:
        """``update`` addressed by series key instead of row index."""
        return self.update(self.index(keys), ts, values)

    @abstractmethod
    def _step(self, rows: np.ndarray, ts: np.ndarray, x: np.ndarray) -> BankResult:
        """Score then learn one point for each of ``rows`` (all distinct)."""

    # ----- persistence -------------------------------------------------------------------
    def nbytes_per_series(self) -> float:
        """State bytes per live series, including an estimate of the key map's cost."""
        cap = len(next(iter(self._state.values()))) if self._state else 1
        arrays = sum(a.nbytes for a in self._state.values()) / max(cap, 1)
        key_map = 100.0  # dict slot + short str key + int, measured roughly with sys.getsizeof
        return arrays + key_map

    def snapshot(self) -> bytes:
        """All state as bytes (numpy ``.npz``, no pickle) for a restart to resume from."""
        buf = io.BytesIO()
        meta = {"name": self.name, "params": self._params(), "keys": self._keys, "free": self._free}
        used = len(self._keys) + len(self._free)  # rows ever handed out
        arrays: dict[str, Any] = {k: v[:used] for k, v in self._state.items()}
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def restore(cls, blob: bytes) -> DetectorBank:
        """Rebuild a bank from ``snapshot`` output (the subclass is taken from the blob)."""
        from models.online.registry import bank_class

        if blob.startswith(b"NVPICKL1"):
            from models.online.hst import load_pickled

            return load_pickled(blob)
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            meta = json.loads(data["__meta__"].tobytes().decode())
            bank = bank_class(meta["name"])(**meta["params"])
            bank._state = {k: data[k].copy() for k in data.files if k != "__meta__"}
        if bank._state:  # fields added since the snapshot was taken start from their initial value
            rows = len(next(iter(bank._state.values())))
            for k, arr in bank._alloc(rows).items():
                bank._state.setdefault(k, arr)
        bank._keys = {str(k): int(v) for k, v in meta["keys"].items()}
        bank._free = [int(v) for v in meta["free"]]
        return bank
