"""ICMP prober: RTT, jitter and loss per target, thousands of targets per cycle.

:mod:`.engine` sends and matches echo requests on one socket; :mod:`.stats`
turns RTTs into a :class:`netvigil.records.PingResult` (pure, unit-tested);
``service.run(settings, stop)`` probes the inventory every cycle.
"""

__all__: list[str] = []
