"""The simulated network: real SNMP agents on loopback (``agents``) and the `netvigil simulate` scenario."""

__all__: list[str] = []
