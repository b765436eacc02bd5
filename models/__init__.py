"""NetVigil's learn tier: online detectors, NAB evaluation and capacity forecasts."""

__all__: list[str] = []
