"""Detectors by name: ``make_detector("default")`` is what production ships.

A function over a constant mapping rather than a mutable class-level registry, so
nothing can be registered into it by accident at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.online.base import DetectorBank
from models.online.context import ContextBank
from models.online.zscore import ZScoreBank


def _hst_class() -> type[DetectorBank]:
    from models.online.hst import HSTBank  # river import is slow; load on demand

    return HSTBank


_CLASSES: dict[str, Callable[[], type[DetectorBank]]] = {
    "context": lambda: ContextBank,
    "zscore": lambda: ZScoreBank,
    "hst": _hst_class,
}

# Named configurations: name -> (bank class name, constructor arguments).
_CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("context", {}),
    "zscore": ("zscore", {}),
    "hst": ("hst", {}),
}

DETECTORS: tuple[str, ...] = tuple(_CONFIGS)


def bank_class(name: str) -> type[DetectorBank]:
    """The bank class registered under ``name`` (as stored in snapshots)."""
    try:
        return _CLASSES[name]()
    except KeyError:
        raise ValueError(f"unknown bank class {name!r}; known: {sorted(_CLASSES)}") from None


def make_detector(name: str, seed: int = 0, **overrides: Any) -> DetectorBank:
    """A fresh bank for the named configuration (``default``, ``zscore``, ``hst``)."""
    try:
        cls_name, kwargs = _CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; known: {list(DETECTORS)}") from None
    return bank_class(cls_name)(seed=seed, **{**kwargs, **overrides})
