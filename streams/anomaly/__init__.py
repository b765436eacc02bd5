"""The models tier inside a worker: online detectors, forecasts, anomaly and predictive alerts.

See :mod:`streams.anomaly.stage` for the design and :mod:`streams.anomaly.agents`
for how it plugs into a worker.
"""

__all__: list[str] = []
