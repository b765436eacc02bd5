"""Alerting: rules, evaluation, the alert lifecycle engine, persistence, live state, agents."""

__all__: list[str] = []
