"""snmpsim variation module ``nvstate``: values read from a state file the scenario rewrites.

Loaded by snmpsim (``--variation-modules-dir``) in snmpsim's own interpreter,
so it imports nothing from NetVigil. A recording line

    1.3.6.1.2.1.2.2.1.8.3|2:nvstate|agent=sw1,key=ifOperStatus.3,default=1

answers ``default`` until ``DIR/sw1.json`` holds the key, then its value
(``DIR`` from ``--variation-module-options=nvstate:DIR``): a number or string,
or ``{"initial": x, "rate": r, "since": epoch, "max": m, "wrap": w}`` for a
value moving at a steady rate (a disk filling, a CPU tick counter). A
recording line may itself say ``initial=,rate=,since=,wrap=`` instead of
``default=``: a counter that moves until the state file takes over. The file is
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


def moving_value(spec: dict[str, Any], now: float) -> float:
    """``initial + rate * (now - since)``, wrapped at ``wrap`` (a counter) or capped at ``max``."""
    v = float(spec.get("initial", 0)) + float(spec.get("rate", 0)) * (now - float(spec.get("since", now)))
    if spec.get("wrap"):
        v %= float(spec["wrap"]) + 1
    if spec.get("max") is not None:
        v = min(v, float(spec["max"]))
    return max(v, 0.0)


def _typed(tag: str, v: Any) -> Any:
    if tag.startswith("4"):  # OCTET STRING (e.g. laLoad "0.46")
        return str(v)
    return int(float(v))


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
        if "rate" in settings:  # a counter moving from the recording's own start
            return oid, tag, _typed(tag, moving_value(settings, time.time()))
        return oid, tag, _typed(tag, settings.get("default", 0))
    if isinstance(current, dict):
        return oid, tag, _typed(tag, moving_value(current, time.time()))
    return oid, tag, _typed(tag, current)


def shutdown(**context: Any) -> None:
    moduleContext.pop("files", None)
