"""The process tier: Faust worker, rates, rollups, persistence, live state.

Layout (walk it in the order a record travels):

- :mod:`streams.app` -- the Faust app, its topics, the worker context;
- :mod:`streams.agents` -- the list of ``register(app, settings)`` functions
  every worker imports (the extension point for alerting and detectors);
- :mod:`streams.rates` -- raw SNMP counters to per-second rates (pure);
- :mod:`streams.rollup` -- rolling windows and bucket summaries (pure);
- :mod:`streams.pipeline` / :mod:`streams.sink` -- the manual-commit consumer
  that writes PostgreSQL and then commits Kafka offsets;
- :mod:`streams.live` -- Redis live state;
- :mod:`streams.monitoring` -- the Prometheus endpoint of a worker.
"""

__all__: list[str] = []
