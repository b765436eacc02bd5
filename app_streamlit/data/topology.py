"""LLDP topology: nodes with status, edges between them, and a deterministic layout."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from app_streamlit.data.common import like_pattern, read_frame

__all__ = ["layout", "topology"]

Conn = psycopg.Connection[Any]


def topology(conn: Conn, search: str = "", limit: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes, edges). A neighbour LLDP names but the inventory lacks is an "external" node.

    ``search`` keeps links touching a device whose name contains it, so a
    15,000-device network can be looked at a neighbourhood at a time.
    """
    # Two equality joins (by inventory name, then by sysName), never one OR join:
    # an OR condition cannot hash and turns 15,000 devices into a nested loop.
    edges = read_frame(
        conn,
        "SELECT DISTINCT l.device AS source,"
        " coalesce(by_name.name, by_sys.name, nullif(l.remote_sys_name, ''), l.remote_chassis) AS target,"
        " l.local_port, l.remote_port"
        " FROM lldp_neighbors l"
        " LEFT JOIN devices by_name ON by_name.name = l.remote_sys_name"
        " LEFT JOIN (SELECT DISTINCT ON (sys_name) sys_name, name FROM devices"
        "   WHERE sys_name IS NOT NULL ORDER BY sys_name, name) by_sys ON by_sys.sys_name = l.remote_sys_name"
        " WHERE %(q)s = '' OR l.device ILIKE %(pat)s OR l.remote_sys_name ILIKE %(pat)s"
        " ORDER BY 1, 2 LIMIT %(limit)s",
        {"q": search, "pat": like_pattern(search), "limit": limit},
    )
    names = sorted(set(edges["source"]).union(edges["target"])) if not edges.empty else []
    nodes = read_frame(
        conn,
        "SELECT n.name, coalesce(d.status, 'external') AS status, d.address,"
        " coalesce(a.open_alerts, 0) AS open_alerts"
        " FROM unnest(%(names)s::text[]) AS n(name)"
        " LEFT JOIN devices d ON d.name = n.name"
        " LEFT JOIN (SELECT device, count(*) AS open_alerts FROM alerts"
        "            WHERE state IN ('open', 'acknowledged') GROUP BY device) a ON a.device = n.name"
        " ORDER BY n.name",
        {"names": names},
    )
    return nodes, edges


def layout(
    nodes: list[str], edges: list[tuple[str, str]], iterations: int = 50, seed: int = 7
) -> dict[str, tuple[float, float]]:
    """Fruchterman-Reingold spring layout (pure, deterministic for a seed)."""
    n = len(nodes)
    if n == 0:
        return {}
    if n == 1:
        return {nodes[0]: (0.0, 0.0)}
    index = {name: i for i, name in enumerate(nodes)}
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, size=(n, 2))
    pairs = np.array(
        [(index[a], index[b]) for a, b in edges if a in index and b in index], dtype=int
    ).reshape(-1, 2)
    k = math.sqrt(4.0 / n)
    temp = 0.2
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist2 = np.maximum(np.einsum("ijk,ijk->ij", delta, delta), 1e-6)
        disp = np.einsum("ij,ijk->ik", k * k / dist2, delta)
        if len(pairs):
            d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
            length = np.maximum(np.sqrt(np.einsum("ij,ij->i", d, d)), 1e-3)
            pull = (length / k)[:, None] * d
            np.add.at(disp, pairs[:, 0], -pull)
            np.add.at(disp, pairs[:, 1], pull)
        length = np.maximum(np.sqrt(np.einsum("ij,ij->i", disp, disp)), 1e-9)
        pos += disp / length[:, None] * np.minimum(length, temp)[:, None]
        temp *= 0.93
    return {name: (float(pos[i, 0]), float(pos[i, 1])) for name, i in index.items()}
