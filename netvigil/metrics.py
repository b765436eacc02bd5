"""The vocabulary of derived metrics: names, units and what they mean.

Raw samples on the ``poll`` topic are named after their MIB objects
(``ifHCInOctets``, ``hrStorageUsed``, ``ssCpuRawUser``...). The stream turns
them into the derived metrics below, which are what is stored, thresholded,
scored and drawn. Defining them once keeps the rules file, the detectors and
the app speaking of the same things.

``instance`` tells series of one metric apart on a device: the ifIndex for
interface metrics, the mount point for disks, the disk device for disk I/O,
"" for device-wide values.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "FAMILIES", "MetricInfo", "family_of"]


@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str
    family: str  # series family: which detector configuration / model applies
    description: str
    capacity: bool = False  # forecast "time to full" for it


_ALL = [
    # interfaces (instance = ifIndex)
    MetricInfo("if_in_bps", "bit/s", "interface", "inbound bits per second"),
    MetricInfo("if_out_bps", "bit/s", "interface", "outbound bits per second"),
    MetricInfo("if_in_util_pct", "%", "interface", "inbound utilisation of ifHighSpeed", True),
    MetricInfo("if_out_util_pct", "%", "interface", "outbound utilisation of ifHighSpeed", True),
    MetricInfo("if_in_pps", "pkt/s", "interface", "inbound unicast+multicast+broadcast packets/s"),
    MetricInfo("if_out_pps", "pkt/s", "interface", "outbound packets/s"),
    MetricInfo("if_in_errors_ps", "err/s", "interface", "inbound errors per second"),
    MetricInfo("if_out_errors_ps", "err/s", "interface", "outbound errors per second"),
    MetricInfo("if_in_discards_ps", "pkt/s", "interface", "inbound discards per second"),
    MetricInfo("if_out_discards_ps", "pkt/s", "interface", "outbound discards per second"),
    MetricInfo("if_oper_status", "", "status", "ifOperStatus (1 up, 2 down, ...)"),
    MetricInfo("if_admin_status", "", "status", "ifAdminStatus (1 up, 2 down, 3 testing)"),
    # CPU and load (instance "" or CPU index for hrProcessorLoad)
    MetricInfo("cpu_user_pct", "%", "cpu", "CPU time in user mode (ssCpuRawUser+Nice)"),
    MetricInfo("cpu_system_pct", "%", "cpu", "CPU time in kernel mode (ssCpuRawSystem+Kernel)"),
    MetricInfo("cpu_iowait_pct", "%", "cpu", "CPU time waiting for I/O (ssCpuRawWait)"),
    MetricInfo("cpu_idle_pct", "%", "cpu", "idle CPU time"),
    MetricInfo("cpu_load_pct", "%", "cpu", "hrProcessorLoad (per CPU; instance '' = average)"),
    MetricInfo("load_1", "", "cpu", "load average, 1 minute"),
    MetricInfo("load_5", "", "cpu", "load average, 5 minutes"),
    MetricInfo("load_15", "", "cpu", "load average, 15 minutes"),
    # memory
    MetricInfo("mem_used_pct", "%", "memory", "memory used excluding buffers and cache", True),
    MetricInfo("mem_buffer_pct", "%", "memory", "memory in buffers"),
    MetricInfo("mem_cached_pct", "%", "memory", "memory in page cache"),
    MetricInfo("mem_total_bytes", "B", "memory", "total real memory"),
    MetricInfo("swap_used_pct", "%", "memory", "swap used", True),
    # disks (instance = mount point / storage description)
    MetricInfo("disk_used_pct", "%", "disk", "storage used", True),
    MetricInfo("disk_used_bytes", "B", "disk", "storage used"),
    MetricInfo("disk_size_bytes", "B", "disk", "storage size"),
    # disk I/O (instance = device name)
    MetricInfo("diskio_read_bps", "B/s", "diskio", "bytes read per second"),
    MetricInfo("diskio_write_bps", "B/s", "diskio", "bytes written per second"),
    MetricInfo("diskio_reads_ps", "op/s", "diskio", "read operations per second"),
    MetricInfo("diskio_writes_ps", "op/s", "diskio", "write operations per second"),
    MetricInfo("diskio_busy_pct", "%", "diskio", "time the disk was busy"),
    # RMON etherStats (instance = etherStatsIndex)
    MetricInfo("rmon_octets_ps", "B/s", "interface", "etherStatsOctets per second"),
    MetricInfo("rmon_pkts_ps", "pkt/s", "interface", "etherStatsPkts per second"),
    MetricInfo("rmon_errors_ps", "err/s", "interface", "CRC+undersize+oversize+fragments+jabbers per second"),
    # system
    MetricInfo("sys_uptime_s", "s", "status", "agent uptime"),
    # ICMP (instance "")
    MetricInfo("ping_rtt_avg_ms", "ms", "latency", "average round-trip time", True),
    MetricInfo("ping_rtt_max_ms", "ms", "latency", "maximum round-trip time"),
    MetricInfo("ping_jitter_ms", "ms", "latency", "mean absolute difference of successive RTTs"),
    MetricInfo("ping_loss_pct", "%", "loss", "probes lost"),
]

CATALOGUE: dict[str, MetricInfo] = {m.name: m for m in _ALL}
FAMILIES: tuple[str, ...] = tuple(sorted({m.family for m in _ALL}))


def family_of(metric: str) -> str:
    info = CATALOGUE.get(metric)
    return info.family if info else "default"
