"""`netvigil ping TARGET...`: the operator's view of what the ICMP prober measures.

Same engine and statistics as the collector, so what an operator sees here is
what the prober publishes. Exit status 0 when every target answered at least
once, 1 otherwise (as ``fping`` does), so it scripts.
"""

from __future__ import annotations

import asyncio
import json

import click
import msgspec

from ingest.icmp.engine import IcmpEngine
from ingest.icmp.prober import ping_targets
from netvigil.cli.main import get_settings
from netvigil.records import PingResult

__all__ = ["format_table", "ping"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(results: list[PingResult]) -> str:
    rows = [("TARGET", "SENT", "RECV", "LOSS%", "MIN", "AVG", "MAX", "JITTER", "ERROR")]
    for r in results:
        rows.append(
            (
                r.address,
                str(r.sent),
                str(r.received),
                f"{r.loss_pct:g}",
                _ms(r.rtt_min_ms),
                _ms(r.rtt_avg_ms),
                _ms(r.rtt_max_ms),
                _ms(r.jitter_ms),
                r.error or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


async def _ping(targets: list[str], count: int, interval: float, wait: float) -> list[PingResult]:
    async with IcmpEngine() as engine:
        return await ping_targets(
            engine, [(t, t) for t in targets], count=count, interval=interval, reply_timeout=wait
        )


@click.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("-c", "--count", type=click.IntRange(1, 1000), help="Probes per target [collector.ping_count].")
@click.option("-i", "--interval", type=click.FloatRange(0.0), help="Seconds between probes [ping_interval].")
@click.option(
    "-t", "--timeout", type=click.FloatRange(0.01), help="Seconds to wait for a reply [ping_timeout]."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per target (the PingResult record).")
@click.pass_context
def ping(
    ctx: click.Context,
    targets: tuple[str, ...],
    count: int | None,
    interval: float | None,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Ping TARGETs (addresses or names): RTT min/avg/max, jitter and loss."""
    c = get_settings(ctx).collector
    results = asyncio.run(
        _ping(
            list(targets),
            count if count is not None else c.ping_count,
            interval if interval is not None else c.ping_interval,
            timeout if timeout is not None else c.ping_timeout,
        )
    )
    if as_json:
        for r in results:
            click.echo(json.dumps(msgspec.to_builtins(r)))
    else:
        click.echo(format_table(results))
    if not all(r.received for r in results):
        ctx.exit(1)
