"""Placeholder while the module is written; registers nothing yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netvigil.settings import Settings
    from streams.app import NetvigilApp


def register(app: NetvigilApp, settings: Settings) -> None:
    """Nothing yet."""
