"""Remediation: the allow-list manifest and the runner (exec, timeout, captured output)."""

__all__: list[str] = []
