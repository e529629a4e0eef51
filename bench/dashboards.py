"""Many dashboards at once: each one fetches the table once a second, on its own clock.

wrk can't play this part: with a delay between requests it connects first and
waits afterwards, holding an idle connection that ties up a gunicorn sync worker
for the whole delay, which no browser does. A browser polls like htmx's
`every 1s`: on a timer, opening its connection when it sends (gunicorn's sync
workers close each connection), and skipping a tick while a request is still out
(hx-sync). This open-loop generator does exactly that, on loopback only.
"""

import asyncio
import random
import time
from dataclasses import dataclass, field

from bench.load import percentile


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    skipped: int = 0


async def _fetch(port: int, request: bytes, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        if not response.startswith((b"HTTP/1.1 200", b"HTTP/1.1 204")):
            tally.errors += 1
            return
    except (OSError, TimeoutError):
        tally.errors += 1
        return
    tally.latencies_ms.append((time.perf_counter() - started) * 1000)


async def _dashboard(port: int, request: bytes, period: float, until: float, tally: Tally) -> None:
    loop = asyncio.get_running_loop()
    tick = loop.time() + random.uniform(0, period)  # noqa: S311  # spread, not secrets
    in_flight: asyncio.Task[None] | None = None
    while tick < until:
        await asyncio.sleep(max(0.0, tick - loop.time()))
        if in_flight and not in_flight.done():
            tally.skipped += 1  # hx-sync: a slow answer delays the next poll
        else:
            in_flight = asyncio.create_task(_fetch(port, request, tally))
        tick += period
    if in_flight:
        await in_flight


async def _run(port: int, path: str, dashboards: int, seconds: float, period: float) -> Tally:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHX-Request: true\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode()
    tally = Tally()
    until = asyncio.get_running_loop().time() + seconds
    await asyncio.gather(
        *(_dashboard(port, request, period, until, tally) for _ in range(dashboards))
    )
    return tally


def simulate(
    port: int, path: str, dashboards: int, seconds: float, period: float = 1.0
) -> dict[str, float]:
    """`dashboards` pollers of `path` for `seconds`: rate, p50/p99 latency, misses."""
    started = time.perf_counter()
    tally = asyncio.run(_run(port, path, dashboards, seconds, period))
    elapsed = time.perf_counter() - started
    latencies = tally.latencies_ms or [float("inf")]
    return {
        "dashboards": dashboards,
        "per_second": len(tally.latencies_ms) / elapsed,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "errors": tally.errors,
        "skipped_ticks": tally.skipped,
    }
