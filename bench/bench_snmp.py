"""SNMP v2c GETBULK walk throughput: values/s per poller process.

Same run, same local ``snmpd`` agents (net-snmp, C), same subtree:

* ``limit``: net-snmp's own ``snmpbulkwalk`` (C) walking one agent;
* ``value``: our asyncio engine (ingest/snmp/ber.py + transport.py) in one
  process walking every agent concurrently, as the poller does;
* reference: pysnmp 7's ``bulk_walk_cmd`` (lookupMib=False) in one process;
* scaling: 1 vs 2 poller processes (each its own share of the agents). On
  2 shared cores the agents and the pollers compete, so wall-clock scaling is
  capped by the machine; ``cpu_values_per_s`` adds the processes' own rates.

Values/s is wall clock; ``cpu_values_per_s`` is values per CPU-second of the
poller process alone (the machine has 2 cores shared with the agents and with
other work, so wall-clock figures are a floor). Goal: 10,000 values/s.

Run: ``.venv/bin/python bench/bench_snmp.py`` -> JSON on stdout and
bench/results/snmp.json.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.simulate.agents import SnmpdAgent, free_udp_port  # noqa: E402
from ingest.snmp.transport import UdpEngine, V2cTransport  # noqa: E402

SUBTREE = "1.3.6.1.2.1"
AGENTS = 4
ROUNDS = 3
GOAL = 10_000


async def _ours(targets: list[tuple[str, int]], rounds: int) -> int:
    engine = UdpEngine()
    try:
        ts = [
            V2cTransport(engine, h, p, "public", timeout=5, retries=2, max_repetitions=50) for h, p in targets
        ]
        total = 0
        for _ in range(rounds):
            results = await asyncio.gather(*(t.walk(SUBTREE) for t in ts))
            total += sum(len(r) for r in results)
        return total
    finally:
        await engine.close()


def ours(targets: list[tuple[str, int]], rounds: int = ROUNDS) -> dict[str, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    n = asyncio.run(_ours(targets, rounds))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"values": n, "seconds": wall, "values_per_s": n / wall, "cpu_values_per_s": n / max(cpu, 1e-9)}


def _ours_child(targets: list[tuple[str, int]], q: Any) -> None:
    q.put(ours(targets))


def processes(targets: list[tuple[str, int]], n: int) -> dict[str, float]:
    """n poller processes, each with 1/n of the agents (sharding), started together."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    shards = [targets[i::n] for i in range(n)]
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_ours_child, args=(s, q)) for s in shards]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    total = sum(r["values"] for r in results)
    return {
        "processes": n,
        "values": total,
        "seconds": wall,
        "values_per_s": total / wall,
        # CPU-bound capacity: what the processes would do with a core each and agents that keep up.
        "cpu_values_per_s": sum(r["cpu_values_per_s"] for r in results),
    }


def limit(target: tuple[str, int]) -> dict[str, float]:
    cmd = ["snmpbulkwalk", "-v2c", "-c", "public", "-Cr50", "-On", "-Oq", f"{target[0]}:{target[1]}", SUBTREE]
    env = dict(os.environ, MIBS="")
    n, t0 = 0, time.perf_counter()
    for _ in range(ROUNDS):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
        n += out.count("\n")
    wall = time.perf_counter() - t0
    return {"values": n, "seconds": wall, "values_per_s": n / wall}


async def _pysnmp(target: tuple[str, int]) -> int:
    from pysnmp.hlapi.v3arch import asyncio as hl

    engine = hl.SnmpEngine()
    tgt = await hl.UdpTransportTarget.create(target, timeout=5, retries=2)
    n = 0
    async for ei, es, _, vbs in hl.bulk_walk_cmd(engine, hl.CommunityData("public"), tgt, hl.ContextData(), 0, 50,
                                                 hl.ObjectType(hl.ObjectIdentity(SUBTREE)), lookupMib=False,
                                                 lexicographicMode=False):  # fmt: skip
        if ei or es:
            break
        n += len(vbs)
    engine.close_dispatcher()
    return n


def pysnmp_walk(target: tuple[str, int]) -> dict[str, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    n = asyncio.run(_pysnmp(target))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"values": n, "seconds": wall, "values_per_s": n / wall, "cpu_values_per_s": n / max(cpu, 1e-9)}


def main() -> dict[str, Any]:
    base = f"127.{(os.getpid() % 200) + 20}.1"
    agents = [SnmpdAgent(f"{base}.{i + 1}", 0) for i in range(AGENTS)]
    for a in agents:
        a.port = free_udp_port(a.address)
        a.start()
    try:
        targets = [(a.address, a.port) for a in agents]
        ours(targets[:1], 1)  # warm-up (imports, agent caches)
        lim = limit(targets[0])
        one_agent = ours(targets[:1])
        all_agents = ours(targets)
        ref = pysnmp_walk(targets[0])
        scale = [processes(targets, 1), processes(targets, 2)]
    finally:
        for a in agents:
            a.stop()
    value = all_agents["values_per_s"]
    return {
        "name": "snmp_v2c_walk_values_per_s",
        "value": round(value),
        "unit": "values/s per poller process",
        "goal": GOAL,
        "limit": round(lim["values_per_s"]),
        "limit_what": "net-snmp snmpbulkwalk (C), one agent, same subtree, same run",
        "ratio": round(value / lim["values_per_s"], 3),
        "ours_one_agent": {k: round(v, 3) for k, v in one_agent.items()},
        "ours_all_agents": {k: round(v, 3) for k, v in all_agents.items()},
        "pysnmp_reference": {k: round(v, 3) for k, v in ref.items()},
        "scaling": [{k: round(v, 3) for k, v in s.items()} for s in scale],
        "agents": AGENTS,
        "subtree": SUBTREE,
        "max_repetitions": 50,
        "cores": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
    }


if __name__ == "__main__":
    result = main()
    text = json.dumps(result, indent=2)
    print(text)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "snmp.json").write_text(text + "\n")
