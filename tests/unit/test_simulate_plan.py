"""Pure parts of `netvigil simulate`: topology, fault schedule, derived recordings, nvstate."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from types import ModuleType

import pytest

from ingest.simulate.agents import DATA_DIR
from ingest.simulate.faults import build_schedule
from ingest.simulate.state import VARIATION_DIR, AgentState, derive_recording, moving_value
from ingest.simulate.topology import plan_topology


def test_topology_parents_and_addresses() -> None:
    plan = plan_topology(30, base_address="127.0.5.250")
    assert plan[0].role == "router" and plan[0].parent is None
    switches = [d for d in plan if d.role == "switch"]
    servers = [d for d in plan if d.role == "server"]
    assert len(switches) == 2 and len(servers) == 27
    assert all(s.parent == plan[0].name for s in switches)
    assert all(s.parent in {w.name for w in switches} for s in servers)
    assert len({d.address for d in plan}) == 30 and plan[-1].address == "127.0.6.23"
    assert sum(d.recording is None for d in plan) == 1  # one real snmpd
    assert all(d.tags["role"] == d.role and d.tags["site"] for d in plan)
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        plan_topology(10, base_address="127.255.255.250")


def test_schedule_tells_the_whole_story_in_order() -> None:
    plan = plan_topology(6)
    targets = [
        d.target(has_disk=d.recording in ("linux", "windows"), has_cpu=d.recording == "linux") for d in plan
    ]
    steps = build_schedule(targets, 100.0, flaps=3)
    actions = [s.action for s in steps]
    assert steps == sorted(steps, key=lambda s: s.at)
    for a in ("disk_fill", "cpu_spike", "cpu_normal", "ping_block", "ping_unblock", "reboot", "down", "up"):
        assert a in actions
    flaps = [s for s in steps if s.params.get("flap")]
    assert [s.action for s in flaps] == ["link_down", "link_up"] * 3
    assert all(s.device == "sim-sw1" for s in steps if s.action.startswith("link_"))
    assert all(s.params["if_index"] <= 24 for s in steps if s.action.startswith("link_"))
    down = next(s for s in steps if s.action == "down")
    assert set(down.params["children"]) == {d.name for d in plan if d.parent == "sim-sw1"}
    assert down.params["parent"] == "sim-rtr1" and down.params["uplink"] == 1
    assert max(s.at for s in steps) < 100.0
    assert build_schedule([], 100.0) == []


def _load_nvstate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nvstate", VARIATION_DIR / "nvstate.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_derived_recording_is_driven_by_the_state_file(tmp_path: Path) -> None:
    rec = derive_recording(DATA_DIR / "linux", tmp_path / "rec", "sim-linux1", "sim-linux1")
    assert rec.interfaces and rec.cpus and rec.disk_index == 31 and rec.disk_size > rec.disk_used > 0
    lines = (tmp_path / "rec" / "public.snmprec").read_text().splitlines()
    assert "1.3.6.1.2.1.1.5.0|4|sim-linux1" in lines
    oper = next(ln for ln in lines if ln.startswith("1.3.6.1.2.1.2.2.1.8.1|"))
    assert oper == "1.3.6.1.2.1.2.2.1.8.1|2:nvstate|agent=sim-linux1,key=ifOperStatus.1,default=1"

    nv = _load_nvstate()
    nv.init(options=str(tmp_path / "state"))
    (tmp_path / "state").mkdir()

    def ask(value: str) -> int:
        nv.recordContext.clear()
        ctx = {"nextFlag": False, "exactMatch": True, "setFlag": False, "origOid": None, "errorStatus": None}
        return int(nv.variate("1.3", "2", value, **ctx)[2])

    value = oper.split("|")[2]
    assert ask(value) == 1
    state = AgentState(tmp_path / "state", "sim-linux1")
    state.set("ifOperStatus.1", 2)
    assert ask(value) == 2
    state.set("disk", {"initial": 100, "rate": 10, "since": time.time() - 5, "max": 120})
    assert ask("agent=sim-linux1,key=disk,default=7") == 120  # clamped at the disk size
    state.clear("ifOperStatus.1")
    assert ask(value) == 1
    assert json.loads((tmp_path / "state" / "sim-linux1.json").read_text())["disk"]["max"] == 120


def test_cpu_counters_move_and_a_spike_changes_their_rates_without_jumping(tmp_path: Path) -> None:
    t0 = 1_800_000_000.0
    rec = derive_recording(DATA_DIR / "linux", tmp_path / "rec", "l1", "l1", now=t0)
    assert set(rec.cpu_counters) == {"cpu_user", "cpu_nice", "cpu_system", "cpu_idle", "cpu_wait"}
    total = sum(s["rate"] for s in rec.cpu_counters.values())
    assert total == pytest.approx(100 * len(rec.cpus))
    nv = _load_nvstate()
    user = rec.cpu_counters["cpu_user"]
    for t in (t0, t0 + 10, t0 + 1e6):
        assert nv.moving_value(user, t) == pytest.approx(moving_value(user, t))

    state = AgentState(tmp_path, "l1")
    before = moving_value(user, t0 + 100)
    state.cpu_spike(rec, on=True, now=t0 + 100)
    spec = state.get("cpu_user")
    assert moving_value(spec, t0 + 100) == pytest.approx(before)  # continuous
    busy = (moving_value(spec, t0 + 110) - before) / 10 / total
    assert busy == pytest.approx(0.90)
    assert state.get("cpu") == 97 and state.get("load1") == "3.92"
    state.cpu_spike(rec, on=False, now=t0 + 200)
    after = state.get("cpu_user")
    assert after["initial"] == pytest.approx(moving_value(spec, t0 + 200))
    assert after["rate"] == pytest.approx(user["rate"])
    assert state.get("cpu") is None and state.get("load1") is None
