"""The worker's GC policy: freeze steps and full sweeps at their intervals; apply freezes survivors."""

from __future__ import annotations

import gc

from streams.gcpolicy import GcPolicy, apply


def test_steps_are_due_at_their_intervals() -> None:
    p = GcPolicy(freeze_every=10, sweep_every=60, start=100)
    got = [(t, p.due(t)) for t in (100, 105, 110, 115, 121, 159, 160, 161, 170)]
    assert got == [
        (100, None), (105, None), (110, "freeze"), (115, None), (121, "freeze"), (159, "freeze"),
        (160, "sweep"), (161, None), (170, "freeze"),
    ]  # fmt: skip


def test_apply_freezes_what_survives_and_a_sweep_starts_over() -> None:
    try:
        kept = [[i] for i in range(1000)]
        apply("freeze")
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        cycle: list[object] = []
        cycle.append(cycle)  # garbage made later is still collected (it was not frozen)
        del cycle
        assert gc.collect() >= 1
        apply("sweep")
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
