"""Write the .snmprec recordings the simulated agents serve (committed with this script).

* ``linux`` and ``windows``: snmpsim's shipped walks of real devices
  (``recorded/linux-full-walk``, ``recorded/winxp-full-walk``), with sysUpTime
  and interface octet counters turned into moving values (snmpsim's
  ``numeric`` variation: value = initial + rate * seconds since start).
* ``switch``: 52 interfaces (48 access + 4 uplinks) with 64-bit counters,
  RMON etherStatsTable and 12 LLDP neighbours.
* ``router``: 6 interfaces with 32-bit counters only; the WAN ifInOctets runs
  at 100 MB/s and wraps every ~43 s; sysUpTime wraps every 300 s (a reboot).

Run: ``.venv/bin/python -m ingest.simulate.data.make_recordings [SNMPSIM_DATA_DIR]``
(default: the snmpsim venv under .local). Values are deterministic (seeded).
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
U32 = 4294967295

Rec = dict[str, tuple[str, str]]


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split("."))


def _write(name: str, rec: Rec) -> None:
    out = HERE / name
    out.mkdir(exist_ok=True)
    lines = [f"{oid}|{tag}|{value}" for oid, (tag, value) in sorted(rec.items(), key=lambda kv: _key(kv[0]))]
    (out / "public.snmprec").write_text("\n".join(lines) + "\n")


def _moving(rate: float, initial: int, *, bits: int = 32, wrap: bool = True) -> tuple[str, str]:
    tag = "70" if bits == 64 else "65"
    top = 2**64 - 1 if bits == 64 else U32
    extra = f",max={top},wrap=1" if wrap else ""
    return f"{tag}:numeric", f"rate={rate:g},initial={initial}{extra}"


def _uptime(initial: int, period_s: int | None = None) -> tuple[str, str]:
    extra = f",max={period_s * 100},wrap=1" if period_s else ""
    return "67:numeric", f"rate=100,initial={initial}{extra}"


def _from_recording(path: Path, seed: int) -> Rec:
    rnd = random.Random(seed)  # noqa: S311 - reproducible test data
    rec: Rec = {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split("|", 2)
        if len(parts) != 3 or not re.fullmatch(r"[\d.]+", parts[0]):
            continue
        oid, tag, value = parts
        if oid == "1.3.6.1.2.1.1.3.0":
            rec[oid] = _uptime(int(value))
        elif re.fullmatch(r"1\.3\.6\.1\.2\.1\.2\.2\.1\.(10|16)\.\d+", oid) and tag == "65":
            rec[oid] = _moving(rnd.choice([2e3, 5e4, 2e5]), int(value))
        elif re.fullmatch(r"1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.(6|10)\.\d+", oid) and tag == "70":
            rec[oid] = _moving(rnd.choice([2e3, 5e4, 2e5]), int(value), bits=64)
        else:
            rec[oid] = (tag, value)
    return rec


def _system(rec: Rec, descr: str, object_id: str, name: str, uptime: tuple[str, str]) -> None:
    rec["1.3.6.1.2.1.1.1.0"] = ("4", descr)
    rec["1.3.6.1.2.1.1.2.0"] = ("6", object_id)
    rec["1.3.6.1.2.1.1.3.0"] = uptime
    rec["1.3.6.1.2.1.1.4.0"] = ("4", "noc@example.net")
    rec["1.3.6.1.2.1.1.5.0"] = ("4", name)
    rec["1.3.6.1.2.1.1.6.0"] = ("4", "lab rack 3")
    rec["1.3.6.1.2.1.1.7.0"] = ("2", "6")


def _interface(rec: Rec, i: int, name: str, alias: str, speed_mbps: int, up: bool, rates: tuple[float, float],
               *, hc: bool, rnd: random.Random) -> None:  # fmt: skip
    t, x = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
    rec[f"{t}.1.{i}"] = ("2", str(i))
    rec[f"{t}.2.{i}"] = ("4", name)
    rec[f"{t}.3.{i}"] = ("2", "6")
    rec[f"{t}.4.{i}"] = ("2", "1500")
    rec[f"{t}.5.{i}"] = ("66", str(min(speed_mbps * 1_000_000, U32)))
    rec[f"{t}.6.{i}"] = ("4x", f"001b21{i:06x}")
    rec[f"{t}.7.{i}"] = ("2", "1")
    rec[f"{t}.8.{i}"] = ("2", "1" if up else "2")
    rin, rout = rates if up else (0.0, 0.0)
    rec[f"{t}.10.{i}"] = _moving(rin, rnd.randrange(U32))
    rec[f"{t}.11.{i}"] = _moving(rin / 800, rnd.randrange(10**6))
    rec[f"{t}.13.{i}"] = ("65", "0")
    rec[f"{t}.14.{i}"] = _moving(0.02 if up else 0, rnd.randrange(100)) if i % 7 == 3 else ("65", "0")
    rec[f"{t}.16.{i}"] = _moving(rout, rnd.randrange(U32))
    rec[f"{t}.17.{i}"] = _moving(rout / 800, rnd.randrange(10**6))
    rec[f"{t}.19.{i}"] = ("65", "0")
    rec[f"{t}.20.{i}"] = ("65", "0")
    rec[f"{x}.1.{i}"] = ("4", name)
    if hc:
        rec[f"{x}.2.{i}"] = _moving(rin / 4000, 1000)
        rec[f"{x}.3.{i}"] = _moving(rin / 8000, 500)
        rec[f"{x}.4.{i}"] = _moving(rout / 4000, 1000)
        rec[f"{x}.5.{i}"] = _moving(rout / 8000, 500)
        rec[f"{x}.6.{i}"] = _moving(rin, rnd.randrange(2**40), bits=64)
        rec[f"{x}.7.{i}"] = _moving(rin / 800, rnd.randrange(2**30), bits=64)
        rec[f"{x}.8.{i}"] = _moving(rin / 4000, 1000, bits=64)
        rec[f"{x}.9.{i}"] = _moving(rin / 8000, 500, bits=64)
        rec[f"{x}.10.{i}"] = _moving(rout, rnd.randrange(2**40), bits=64)
        rec[f"{x}.11.{i}"] = _moving(rout / 800, rnd.randrange(2**30), bits=64)
        rec[f"{x}.12.{i}"] = _moving(rout / 4000, 1000, bits=64)
        rec[f"{x}.13.{i}"] = _moving(rout / 8000, 500, bits=64)
    rec[f"{x}.15.{i}"] = ("66", str(speed_mbps))
    rec[f"{x}.18.{i}"] = ("4", alias)


def switch() -> Rec:
    rnd = random.Random(7)  # noqa: S311 - reproducible test data
    rec: Rec = {}
    _system(rec, "NetVigil simulated 48-port switch, firmware 16.12.4", "1.3.6.1.4.1.9.1.2694", "sw-access-1",
            _uptime(8_640_000))  # fmt: skip
    rec["1.3.6.1.2.1.2.1.0"] = ("2", "52")
    for i in range(1, 53):
        uplink = i > 48
        name = f"Te1/1/{i - 48}" if uplink else f"Gi1/0/{i}"
        up = uplink or i % 5 != 0
        speed = 10000 if uplink else 1000
        base = rnd.choice([5e4, 2e5, 1e6, 4e6]) * (20 if uplink else 1)
        alias = f"uplink core-{i - 48}" if uplink else (f"desk {i:02d}" if up else "")
        _interface(rec, i, name, alias, speed, up, (base, base * rnd.uniform(0.3, 1.5)), hc=True, rnd=rnd)
        e = "1.3.6.1.2.1.16.1.1.1"  # RMON etherStatsTable
        rec[f"{e}.1.{i}"] = ("2", str(i))
        rec[f"{e}.2.{i}"] = ("6", f"1.3.6.1.2.1.2.2.1.1.{i}")
        rec[f"{e}.3.{i}"] = ("65", "0")
        rec[f"{e}.4.{i}"] = _moving(base if up else 0, rnd.randrange(U32))
        rec[f"{e}.5.{i}"] = _moving(base / 800 if up else 0, rnd.randrange(10**6))
        rec[f"{e}.6.{i}"] = _moving(base / 40000 if up else 0, 10)
        rec[f"{e}.7.{i}"] = _moving(base / 20000 if up else 0, 10)
        for col in range(8, 14):
            rec[f"{e}.{col}.{i}"] = ("65", "0")
        rec[f"{e}.20.{i}"] = ("4", "monitor")
        rec[f"{e}.21.{i}"] = ("2", "1")
    lldp = "1.0.8802.1.1.2.1.4.1.1"
    for n, port in enumerate([49, 50, 51, 52, 1, 2, 3, 4, 6, 7, 8, 9], start=1):
        idx = f"0.{port}.{n}"
        peer = f"core-{port - 48}" if port > 48 else f"ap-{port:02d}"
        rec[f"{lldp}.4.{idx}"] = ("2", "4")
        rec[f"{lldp}.5.{idx}"] = ("4x", f"00259c{n:06x}")
        rec[f"{lldp}.6.{idx}"] = ("2", "5")
        rec[f"{lldp}.7.{idx}"] = ("4", f"Te1/0/{n}" if port > 48 else "eth0")
        rec[f"{lldp}.8.{idx}"] = ("4", f"to sw-access-1 port {port}")
        rec[f"{lldp}.9.{idx}"] = ("4", peer)
        rec[f"{lldp}.10.{idx}"] = ("4", "NetVigil simulated neighbour")
    return rec


def router() -> Rec:
    rnd = random.Random(11)  # noqa: S311 - reproducible test data
    rec: Rec = {}
    _system(rec, "NetVigil simulated edge router, 32-bit counters only", "1.3.6.1.4.1.9.1.1041", "rtr-edge-1",
            _uptime(0, period_s=300))  # fmt: skip
    rec["1.3.6.1.2.1.2.1.0"] = ("2", "6")
    names = ["Gi0/0", "Gi0/1-wan", "Gi0/2", "Gi0/3", "Lo0", "Tu0"]
    for i, name in enumerate(names, start=1):
        rates = (1e8, 2e7) if i == 2 else (rnd.choice([1e4, 1e5, 1e6]), rnd.choice([1e4, 1e5]))
        _interface(rec, i, name, f"{name} link", 1000, i != 4, rates, hc=False, rnd=rnd)
    rec["1.3.6.1.2.1.2.2.1.10.2"] = _moving(
        1e8, U32 - 500_000_000
    )  # wraps ~5 s after start, then every ~43 s
    return rec


def main(argv: list[str]) -> int:
    default = next((HERE.parents[2] / ".local" / "snmpsim-venv" / "lib").glob("python3*/site-packages/snmpsim/data"),
                   None)  # fmt: skip
    src = Path(argv[0]) if argv else default
    if src is None or not (src / "recorded").is_dir():
        sys.stderr.write(
            "snmpsim data directory not found; create the venv (ingest.simulate.agents) or pass it\n"
        )
        return 1
    _write("linux", _from_recording(src / "recorded" / "linux-full-walk.snmprec", 1))
    _write("windows", _from_recording(src / "recorded" / "winxp-full-walk.snmprec", 2))
    _write("switch", switch())
    _write("router", router())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
