"""SNMP collection: BER codec, transports (own v1/v2c engine, pysnmp for v3), poller, service."""

__all__: list[str] = []
