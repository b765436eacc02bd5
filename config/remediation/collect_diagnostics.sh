#!/bin/sh
# Collect diagnostics for a device: ICMP reachability and the SNMP system group.
# Harmless (read-only). Arguments come only from the allow-list in manifest.yaml,
# already validated: --address ADDR [--port N] [--count N].
# The community, if any, comes from the worker's environment (SNMP_COMMUNITY),
# never from the command line of an alert.
set -u
address=""; port=161; count=3
while [ $# -gt 0 ]; do
  case "$1" in
    --address) address="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$address" ] || { echo "--address is required" >&2; exit 2; }
echo "== ping $address ($count probes)"
if command -v ping >/dev/null 2>&1; then
  ping -n -c "$count" -W 1 -i 0.2 -- "$address" 2>&1 || echo "(ping exit $?)"
else
  echo "ping not installed"
fi
echo "== snmpget $address:$port system group"
if command -v snmpget >/dev/null 2>&1; then
  MIBS="" snmpget -v2c -c "${SNMP_COMMUNITY:-public}" -t 1 -r 0 -On "$address:$port" \
    1.3.6.1.2.1.1.1.0 1.3.6.1.2.1.1.3.0 1.3.6.1.2.1.1.5.0 2>&1 || echo "(snmpget exit $?)"
else
  echo "snmpget not installed"
fi
exit 0
