"""One Prometheus endpoint per collector process, shared by every collector in it.

``netvigil collect all`` runs several collectors in one process; each calls
:func:`ensure_metrics_server` and the first call starts prometheus_client's
HTTP server on ``collector.bind:collector.metrics_port``. A port already taken
(another process) is logged and survived: metrics are never a reason for a
collector not to run.
"""

from __future__ import annotations

import logging
import threading

from prometheus_client import start_http_server

from netvigil.settings import Settings

__all__ = ["ensure_metrics_server"]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_started: dict[str, int] = {}


def ensure_metrics_server(settings: Settings) -> int | None:
    """Start the process's metrics endpoint once; its port, or None when it could not start."""
    with _lock:
        if "port" in _started:
            return _started["port"]
        port = settings.collector.metrics_port
        try:
            server, _thread = start_http_server(port, addr=settings.collector.bind)
        except OSError as exc:
            log.warning("metrics endpoint %s:%d not started: %s", settings.collector.bind, port, exc)
            return None
        port = int(server.server_port)  # the real port when 0 ("any free port") was asked for
        _started["port"] = port
        log.info("metrics on http://%s:%d/metrics", settings.collector.bind, port)
        return port
