"""Detector bank snapshots in the worker's data directory.

Why files and not PostgreSQL: a bank's state belongs to the worker that
processes the partitions of its devices, the data directory is that worker's
own (``<stack home>/worker/<app id>`` or ``--data-dir``), and rewriting
megabytes of state every few minutes into PostgreSQL would only grow WAL and
bloat for data no other process reads.  The cost: when a rebalance moves a
device to another worker, that worker learns its series from scratch
(warm-up), exactly as for a new series.

Files are written whole to a temporary name then renamed (atomic on POSIX),
so a crash mid-write leaves the previous snapshot.  ``meta.json`` records the
registry version each bank ran.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from models.online import DetectorBank

__all__ = ["WINDOWS_FILE", "load_banks", "read_blob", "save_banks", "write_blob"]

WINDOWS_FILE = "forecast_windows.bin"  # not *.npz: load_banks reads those as banks

log = logging.getLogger(__name__)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_blob(directory: Path, name: str, data: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / name, data)


def read_blob(directory: Path, name: str) -> bytes | None:
    try:
        return (directory / name).read_bytes()
    except OSError:
        return None


def save_banks(directory: Path, blobs: dict[str, bytes], versions: dict[str, int]) -> int:
    """Write ``<family>.npz`` files and ``meta.json``; returns bytes written."""
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for family, blob in blobs.items():
        _write(directory / f"{family}.npz", blob)
        total += len(blob)
    _write(directory / "meta.json", json.dumps({"versions": versions}).encode())
    return total


def load_banks(directory: Path) -> tuple[dict[str, DetectorBank], dict[str, int]]:
    """Banks and versions from ``directory``; unreadable files are logged and skipped."""
    banks: dict[str, DetectorBank] = {}
    versions: dict[str, int] = {}
    if not directory.is_dir():
        return banks, versions
    try:
        meta = json.loads((directory / "meta.json").read_text())
        versions = {str(k): int(v) for k, v in meta.get("versions", {}).items()}
    except (OSError, ValueError) as exc:
        log.warning("no readable anomaly snapshot metadata in %s: %s", directory, exc)
    for path in sorted(directory.glob("*.npz")):
        try:
            banks[path.stem] = DetectorBank.restore(path.read_bytes())
        except Exception as exc:  # a corrupt snapshot costs a warm-up, never the worker
            log.error("anomaly snapshot %s not restored (%s): starting that family empty", path, exc)
    return banks, versions
