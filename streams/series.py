"""The worker's series-id cache: compact, per device, keyed by the shape of its batches.

Why not one dict of ``(device, metric, instance) -> id``: at the reference
scale (~1.8M series) such a dict costs a tuple, a hash entry and an int per
series (several hundred MB), and every sample pays a tuple build and hash on
the hot path. A device's derived metrics come out in the same order poll
after poll (the rates stage emits them in a fixed order), so per device we
keep the last *shape* -- the tuple of metric names and the tuple of
instances -- with the ids in that order as one int32 array. The hot path is
two tuple comparisons (C speed) and returns the array as is.

When the shape changes (a counter without a rate this interval, a new
interface), the device's union of known series resolves what it can and
only the really unknown series go to PostgreSQL. Memory is a few KB per
device, strings are interned (metric names and instances repeat across
devices), and the number of devices kept is bounded (oldest dropped first;
a dropped device is simply looked up again).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DeviceSeries", "Ids", "SeriesCache", "Shape"]

Ids = npt.NDArray[np.int32]
Shape = tuple[tuple[str, ...], tuple[str, ...]]  # metric names, instances (same length)


@dataclass(slots=True)
class DeviceSeries:
    """One device's known series: the last shape seen and the union of all."""

    names: tuple[str, ...]
    insts: tuple[str, ...]
    ids: Ids
    all_names: tuple[str, ...]
    all_insts: tuple[str, ...]
    all_ids: Ids


def _intern(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(sys.intern(v) for v in values)


class SeriesCache:
    """device -> :class:`DeviceSeries`; pure (the sink asks PostgreSQL for misses)."""

    def __init__(self, max_devices: int = 200_000) -> None:
        self.max_devices = max_devices
        self.devices: dict[str, DeviceSeries] = {}

    def __len__(self) -> int:
        """Number of series known (the sum over devices of their union)."""
        return sum(len(d.all_ids) for d in self.devices.values())

    def lookup(self, device: str, names: tuple[str, ...], insts: tuple[str, ...]) -> Ids | None:
        """Ids of the batch's series in order, or None when some are not cached (fast path)."""
        if not names:
            return np.zeros(0, dtype=np.int32)
        entry = self.devices.get(device)
        if entry is None:
            return None
        if entry.names == names and entry.insts == insts:
            return entry.ids
        known = dict(
            zip(zip(entry.all_names, entry.all_insts, strict=True), entry.all_ids.tolist(), strict=True)
        )
        ids = [known.get(k) for k in zip(names, insts, strict=True)]
        if any(i is None for i in ids):
            return None
        return self._remember(device, entry, names, insts, np.array(ids, dtype=np.int32))

    def missing(self, device: str, names: Sequence[str], insts: Sequence[str]) -> list[tuple[str, str]]:
        """The (metric, instance) pairs of a batch with no cached id."""
        entry = self.devices.get(device)
        known = set(zip(entry.all_names, entry.all_insts, strict=True)) if entry is not None else set()
        return [k for k in dict.fromkeys(zip(names, insts, strict=True)) if k not in known]

    def add(self, device: str, found: dict[tuple[str, str], int]) -> None:
        """Learn ids from PostgreSQL (added to the device's union)."""
        entry = self.devices.get(device)
        if entry is None:
            names, insts = _intern([m for m, _ in found]), _intern([i for _, i in found])
            ids = np.fromiter(found.values(), dtype=np.int32, count=len(found))
            self._store(device, DeviceSeries(names, insts, ids, names, insts, ids))
            return
        known = set(zip(entry.all_names, entry.all_insts, strict=True))
        new = {k: v for k, v in found.items() if k not in known}
        if new:
            entry.all_names = entry.all_names + _intern([m for m, _ in new])
            entry.all_insts = entry.all_insts + _intern([i for _, i in new])
            entry.all_ids = np.concatenate([entry.all_ids, np.fromiter(new.values(), dtype=np.int32)])

    def _remember(
        self, device: str, entry: DeviceSeries, names: tuple[str, ...], insts: tuple[str, ...], ids: Ids
    ) -> Ids:
        if entry.all_names == names and entry.all_insts == insts:
            entry.names, entry.insts, entry.ids = entry.all_names, entry.all_insts, entry.all_ids
            return entry.all_ids
        entry.names, entry.insts, entry.ids = _intern(names), _intern(insts), ids
        return ids

    def _store(self, device: str, entry: DeviceSeries) -> None:
        if device not in self.devices and len(self.devices) >= self.max_devices:
            for old in list(self.devices)[: max(self.max_devices // 10, 1)]:
                del self.devices[old]  # oldest first; looked up again if it comes back
        self.devices[sys.intern(device)] = entry

    def ids_of(self, device: str, names: tuple[str, ...], insts: tuple[str, ...]) -> Ids:
        """Like :meth:`lookup` but every series must be known (after :meth:`add`)."""
        ids = self.lookup(device, names, insts)
        if ids is None:
            raise KeyError(f"series of {device} not resolved: {self.missing(device, names, insts)[:3]}")
        return ids
