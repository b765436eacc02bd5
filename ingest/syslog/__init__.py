"""Syslog receiver: UDP and TCP listeners, a pure multi-dialect parser, Kafka publishing."""

__all__: list[str] = []
