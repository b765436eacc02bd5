"""Collect tier: SNMP polling, ICMP probing, trap and syslog receivers -> Kafka."""
