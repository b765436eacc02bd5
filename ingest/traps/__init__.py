"""SNMP trap and inform receiver: v1/v2c on a fast BER path, v3 through pysnmp.

``service.run(settings, stop)`` is the long-running collector; the pure parts
(:mod:`.convert`, :mod:`.oids`, :mod:`.auth`) are unit-tested without sockets.
"""

__all__: list[str] = []
