"""snmpsim variation module ``nvstate``: values read from a state file the scenario rewrites.

Loaded by snmpsim (``--variation-modules-dir``) in snmpsim's own interpreter,
so it imports nothing from NetVigil. A recording line

    1.3.6.1.2.1.2.2.1.8.3|2:nvstate|agent=sw1,key=ifOperStatus.3,default=1

answers ``default`` until ``DIR/sw1.json`` holds the key, then its value
(``DIR`` from ``--variation-module-options=nvstate:DIR``): a number, or ``{"initial": x, "rate": r, "since": epoch,
"max": m}`` for a value moving at a steady rate (a disk filling). The file is
re-read when its mtime changes, so faults take effect on the next request.
"""

import json
import os
import time
from typing import Any

# snmpsim injects these module globals (see snmpsim.variation).
moduleContext: dict[str, Any] = {}
recordContext: dict[str, Any] = {}


def init(**context: Any) -> None:
    moduleContext["files"] = {}
    moduleContext["dir"] = context.get("options") or "."


def _state(path: str) -> dict[str, Any]:
    files = moduleContext.setdefault("files", {})
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return {}
    cached = files.get(path)
    if cached is not None and cached[0] == mtime:
        return dict(cached[1])
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return dict(cached[1]) if cached else {}
    if not isinstance(data, dict):
        return {}
    files[path] = (mtime, data)
    return data


def variate(oid: Any, tag: str, value: Any, **context: Any) -> tuple[Any, str, Any]:
    if not context["nextFlag"] and not context["exactMatch"]:
        return context["origOid"], tag, context["errorStatus"]
    if context["setFlag"]:
        return context["origOid"], tag, context["errorStatus"]
    if "settings" not in recordContext:
        recordContext["settings"] = dict(x.split("=", 1) for x in value.split(",") if "=" in x)
    settings = recordContext["settings"]
    path = os.path.join(moduleContext.get("dir", "."), settings.get("agent", "") + ".json")
    current = _state(path).get(settings.get("key"))
    if current is None:
        return oid, tag, int(settings.get("default", 0))
    if isinstance(current, dict):
        v = current.get("initial", 0) + current.get("rate", 0) * (time.time() - current.get("since", 0))
        if "max" in current:
            v = min(v, current["max"])
        return oid, tag, int(max(v, 0))
    return oid, tag, int(current)


def shutdown(**context: Any) -> None:
    moduleContext.pop("files", None)
