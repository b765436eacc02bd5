"""Notifications: config and routing, per-channel payloads, delivery with retries."""

__all__: list[str] = []
