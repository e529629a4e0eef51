"""Load generation with wrk, and the statistics the report shows."""

import json
import os
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class WrkRun:
    """One bounded wrk run: throughput and latency percentiles over its requests."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    headers: Sequence[str] = (),
    method: str = "GET",
    body: str | None = None,
    content_type: str | None = None,
    delay_ms: int = 0,
) -> WrkRun:
    """Hit `url` (loopback only) for `seconds` with `connections` connections."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the benchmark only loads loopback, not {url}")
    env = os.environ | {"BENCH_METHOD": method, "BENCH_DELAY_MS": str(delay_ms)}
    if body is not None:
        env["BENCH_BODY"] = body
    if content_type is not None:
        env["BENCH_CONTENT_TYPE"] = content_type
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(WRK_SCRIPT),
        *(arg for header in headers for arg in ("-H", header)),
        url,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            summary = json.loads(line.removeprefix("BENCH_JSON "))
            break
    else:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    errors = sum(
        summary[key] for key in ("connect_errors", "read_errors", "write_errors", "status_errors")
    )
    errors += summary["timeouts"]
    return WrkRun(
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        errors=errors,
        p50_ms=summary["latency_us"]["p50"] / 1000,
        p99_ms=summary["latency_us"]["p99"] / 1000,
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def summarize_samples(values: Sequence[float]) -> dict[str, float]:
    """Median and p99 of single measurements (e.g. one latency per task)."""
    return {
        "median": statistics.median(values),
        "p99": percentile(values, 0.99),
        "count": len(values),
    }


def summarize_runs(runs: Sequence[WrkRun]) -> dict[str, object]:
    """Repeated wrk runs of one request: the median run, and the spread."""
    per_second = [run.per_second for run in runs]
    return {
        "per_second": {
            "median": statistics.median(per_second),
            "min": min(per_second),
            "max": max(per_second),
        },
        # Each run's own percentiles over all its requests, then the median run.
        "latency_ms": {
            "p50": statistics.median(run.p50_ms for run in runs),
            "p99": statistics.median(run.p99_ms for run in runs),
        },
        "errors": sum(run.errors for run in runs),
        "runs": [
            {"per_second": round(run.per_second, 1), "p50_ms": run.p50_ms,
             "p99_ms": run.p99_ms, "requests": run.requests, "errors": run.errors}
            for run in runs
        ],
    }  # fmt: skip


def ratio(runs: Sequence[WrkRun], floor: Sequence[WrkRun]) -> float:
    """Throughput against the floor, paired run by run (same moment, same noise)."""
    return statistics.median(
        run.per_second / base.per_second for run, base in zip(runs, floor, strict=True)
    )
