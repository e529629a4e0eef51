"""Many dashboards at once: each one polls the table once a second, on its own clock.

wrk can't play this part: with a delay between requests it connects first and
waits afterwards, holding an idle connection that ties up a gunicorn sync worker
for the whole delay, which no browser does. A browser polls like htmx's
`every 1s`: on a timer, opening its connection when it sends (gunicorn's sync
workers close each connection), skipping a tick while a request is still out
(hx-sync), and asking with the version of the table it shows (`since=`, taken
from the fragment's own `hx-get`), so it gets a 204 when nothing changed, with
the headers a browser sends (gzip accepted). This open-loop generator does
exactly that, on loopback only.

It shares the machine's cores with the server it measures, so it is built to
cost little: one process, a `selectors` loop over non-blocking sockets, a heap of
ticks, no coroutine or task per request, and only the first kilobytes of each
200 inflated to read the next version. Every step reports the CPU each process
group used (gunicorn, the Celery worker, Redis, the simulator itself) and the
whole machine's, so the report says which one ran out.
"""

import errno
import heapq
import os
import random
import re
import resource
import selectors
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import percentile

VERSION = re.compile(rb"since=([0-9a-f]+)")
TIMEOUT = 5.0  # a request still out this long after the last tick counts as an error


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    skipped: int = 0


class Dashboard:
    """One open page: the version it shows, and its request in flight, if any."""

    __slots__ = ("chunks", "since", "sock", "started")

    def __init__(self, since: str) -> None:
        self.since = since
        self.sock: socket.socket | None = None
        self.started = 0.0
        self.chunks: list[bytes] = []


class Simulation:
    def __init__(self, port: int, path: str, dashboards: int, period: float, since: str) -> None:
        self.address = ("127.0.0.1", port)
        self.path = path
        self.separator = "&" if "?" in path else "?"
        self.head = (
            f" HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHX-Request: true\r\n"
            f"HX-Current-URL: http://127.0.0.1:{port}/\r\nAccept: */*\r\n"
            "Accept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n"
        )
        self.period = period
        self.dashboards = [Dashboard(since) for _ in range(dashboards)]
        self.selector = selectors.DefaultSelector()
        self.tally = Tally()
        self.in_flight = 0

    def request(self, dashboard: Dashboard) -> bytes:
        since = f"{self.separator}since={dashboard.since}" if dashboard.since else ""
        return f"GET {self.path}{since}{self.head}".encode()

    def send(self, dashboard: Dashboard) -> None:
        dashboard.started, dashboard.chunks = time.perf_counter(), []
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError:  # out of descriptors: as a browser that can't connect
            self.tally.errors += 1
            return
        sock.setblocking(False)
        dashboard.sock = sock
        self.in_flight += 1
        if sock.connect_ex(self.address) not in (0, errno.EINPROGRESS):
            self.fail(dashboard)
            return
        self.selector.register(sock, selectors.EVENT_WRITE, (self.connected, dashboard))

    def connected(self, dashboard: Dashboard) -> None:
        sock = dashboard.sock
        assert sock is not None
        try:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                raise ConnectionError
            sock.sendall(self.request(dashboard))  # a few hundred bytes: one segment
        except OSError:
            self.fail(dashboard)
            return
        self.selector.modify(sock, selectors.EVENT_READ, (self.readable, dashboard))

    def readable(self, dashboard: Dashboard) -> None:
        sock = dashboard.sock
        assert sock is not None
        try:
            data = sock.recv(65536)
        except OSError:
            self.fail(dashboard)
            return
        if data:
            dashboard.chunks.append(data)
            return
        latency = (time.perf_counter() - dashboard.started) * 1000
        self.close(dashboard)
        status = self.read_answer(dashboard, b"".join(dashboard.chunks))
        self.tally.statuses[status] = self.tally.statuses.get(status, 0) + 1
        if status in (200, 204):
            self.tally.latencies_ms.append(latency)
        else:
            self.tally.errors += 1

    def read_answer(self, dashboard: Dashboard, answer: bytes) -> int:
        """The status; a 200 also sets the version the next poll asks with."""
        try:
            status = int(answer[9:12])
        except ValueError:
            return 0
        if status == 200:
            headers, _, body = answer.partition(b"\r\n\r\n")
            if b"content-encoding: gzip" in headers.lower():
                # The version is in the fragment's first tag: inflate only its start.
                body = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, 4096)
            if match := VERSION.search(body):
                dashboard.since = match.group(1).decode()
        return status

    def fail(self, dashboard: Dashboard) -> None:
        self.tally.errors += 1
        self.close(dashboard)

    def close(self, dashboard: Dashboard) -> None:
        sock = dashboard.sock
        if sock is None:
            return
        if sock in self.selector.get_map():
            self.selector.unregister(sock)
        sock.close()
        dashboard.sock = None
        self.in_flight -= 1

    def run(self, seconds: float, spread: Callable[[], float]) -> Tally:
        start = time.perf_counter()
        until = start + seconds
        ticks = [(start + spread() * self.period, i) for i in range(len(self.dashboards))]
        heapq.heapify(ticks)
        while ticks or self.in_flight:
            now = time.perf_counter()
            while ticks and ticks[0][0] <= now:
                tick, index = heapq.heappop(ticks)
                dashboard = self.dashboards[index]
                if dashboard.sock is not None:
                    self.tally.skipped += 1  # hx-sync: a slow answer delays the next poll
                else:
                    self.send(dashboard)
                if tick + self.period < until:
                    heapq.heappush(ticks, (tick + self.period, index))
            if not ticks and now > until + TIMEOUT:
                for dashboard in self.dashboards:
                    if dashboard.sock is not None:
                        self.fail(dashboard)
                break
            wait = (ticks[0][0] if ticks else until + TIMEOUT) - now
            for key, _ in self.selector.select(max(0.0, wait)):
                handler, dashboard = key.data
                handler(dashboard)
        self.selector.close()
        return self.tally


def group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) of the live processes of one process group."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == group:  # after the name: state, ppid, pgrp, ... utime, stime
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores, every tenant)."""
    with Path("/proc/stat").open() as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def simulate(
    port: int,
    path: str,
    dashboards: int,
    seconds: float,
    period: float = 1.0,
    groups: dict[str, int] | None = None,
    since: str = "",
) -> dict[str, Any]:
    """`dashboards` pollers of `path` for `seconds`, each having loaded the page at
    version `since`: rate, p50/p99 latency, misses, and the cores each of `groups`
    (name: process group id), the simulator and the whole machine used meanwhile."""
    groups = groups or {}
    # One socket per dashboard may be open at once: more than the usual soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = dashboards + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    simulation = Simulation(port, path, dashboards, period, since)
    cpu_before = {name: group_cpu_seconds(group) for name, group in groups.items()}
    own_before, machine_before = own_cpu_seconds(), machine_busy_seconds()
    started = time.perf_counter()
    tally = simulation.run(seconds, random.random)
    elapsed = time.perf_counter() - started
    cores = {
        name: (group_cpu_seconds(group) - cpu_before[name]) / elapsed
        for name, group in groups.items()
    }
    cores["simulator"] = (own_cpu_seconds() - own_before) / elapsed
    cores["machine"] = (machine_busy_seconds() - machine_before) / elapsed
    latencies = tally.latencies_ms or [float("inf")]
    return {
        "dashboards": dashboards,
        "per_second": len(tally.latencies_ms) / elapsed,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "errors": tally.errors,
        "skipped_ticks": tally.skipped,
        "statuses": {str(status): count for status, count in sorted(tally.statuses.items())},
        "cores": {name: round(value, 3) for name, value in cores.items()},
    }
