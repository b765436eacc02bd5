#!/usr/bin/env bash
# Install the Debian packages NetVigil's local stack, simulator and tests use.
# Idempotent: only what is missing is installed (one apt-get call). Run as root
# (these machines) or with sudo available.
set -euo pipefail

PACKAGES=(
  python3-venv            # the project venv and snmpsim's own venv
  postgresql              # local PostgreSQL (own cluster, own port)
  redis-server            # local Redis
  default-jre-headless    # Kafka broker (jars from Maven Central)
  maven                   # gathers the Kafka jars
  snmpd snmp              # real SNMP agents and net-snmp's tools (snmpget, snmptrap...)
  bsdutils                # util-linux `logger`, a real syslog sender
  iproute2 iptables       # network namespaces / unreachable hosts in fault tests
  iputils-ping            # the diagnostics remediation script
  chromium chromium-driver  # browser tests of the app (headless)
  docker-compose          # validates docker-compose.yml offline (no engine needed)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
