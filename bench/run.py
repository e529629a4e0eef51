"""`make bench`: start the real stack on loopback, fill the history, measure.

Twice: on SQLite, as `make run` deploys it, then the same table on a private
PostgreSQL cluster, as the containers deploy it (`measure_pass`). Every figure is
measured next to a baseline in the same run (a no-op Django view on the same
gunicorn, a bare Celery round trip on the same Redis and worker), so the ratios hold
on a noisy shared machine even when the absolute numbers don't.
Prints a markdown table and writes var/bench/results.json, results.md and
growth.png. Every process it starts is stopped again, also on Ctrl-C.
"""

import argparse
import datetime
import logging
import os
import platform
import re
import runpy
import shutil
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fill, fill_postgres, report  # noqa: E402
from bench.load import (  # noqa: E402
    WrkRun,
    ratio,
    summarize_runs,
    summarize_samples,
    wrk,
)
from realstack import (  # noqa: E402
    Stack,
    free_port,
    postgres_bindir,
    start_postgres,
    start_redis,
    start_web,
    start_worker,
    wait_for,
)

OUT = ROOT / "var" / "bench"
HTMX = "HX-Request: true"
ANY = "Accept: */*"  # what curl sends: a task's URL answers JSON
HTML = "Accept: text/html"  # what a browser sends for the page
FORM = "application/x-www-form-urlencoded"
TIME_SCALE = "0.4"  # long tasks take 12 s: long enough to watch, short to wait for


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def start_gunicorn(stack: Stack, name: str, settings_module: str) -> str:
    """gunicorn exactly as production starts it (gunicorn.conf.py, its number of
    workers), on a free port; its URL once it answers /healthz."""
    port = free_port()
    env = stack.env | {"DJANGO_SETTINGS_MODULE": settings_module}
    start_web(stack, port, env=env, name=name, workers=None)
    return f"http://127.0.0.1:{port}"


class Bench:
    """The running stack and the measurements taken against it."""

    def __init__(self, stack: Stack, web: str, quick: bool, redis_pid: int | None = None) -> None:
        self.stack = stack
        self.redis_pid = redis_pid  # the Redis server's process group, for CPU accounting
        self.web = web
        self.rounds = 2 if quick else 3
        self.seconds = 1 if quick else 2
        # Like curl: no cookie jar, so no CSRF cookie makes its posts look like a browser's.
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self.http = httpx.Client(
            base_url=web, timeout=15, headers={"Accept": "*/*"}, cookies=no_cookies
        )
        self.results: dict[str, Any] = {}

    @property
    def postgres(self) -> bool:
        return self.stack.env["DATABASE_URL"].startswith("postgres")

    # The history is filled straight into the database, SQLite or PostgreSQL.
    def task_count(self) -> int:
        if self.postgres:
            return fill_postgres.task_count(self.stack.env["DATABASE_URL"])
        return fill.task_count(self.stack.directory / "db.sqlite3")

    def fill_history(self, total: int) -> int:
        if self.postgres:
            return fill_postgres.fill_history(self.stack.env["DATABASE_URL"], total)
        return fill.fill_history(self.stack.directory / "db.sqlite3", total)

    def fill_busy_hour(self, recent: int, queued: int) -> None:
        if self.postgres:
            fill_postgres.fill_busy_hour(self.stack.env["DATABASE_URL"], recent, queued)
        else:
            fill.fill_busy_hour(self.stack.directory / "db.sqlite3", recent, queued)

    # --- helpers

    def load(self, url: str, connections: int = 4, **options: Any) -> WrkRun:
        run = wrk(url, seconds=self.seconds, connections=connections, **options)
        if run.errors:
            raise RuntimeError(f"{run.errors} errors from {url}: {run}")
        return run

    def current_version(self) -> str:
        fragment = self.http.get("/tasks/", headers={"HX-Request": "true"}).text
        match = re.search(r"since=([0-9a-f]+)", fragment)
        if not match:
            raise RuntimeError(f"no version in the table fragment: {fragment[:200]}")
        return match.group(1)

    def expect(self, url: str, status: int) -> None:
        got = httpx.get(url, headers={"HX-Request": "true"}).status_code
        if got != status:
            raise RuntimeError(f"{url} answered {got}, expected {status}")

    def fill(self, total: int) -> None:
        started = time.monotonic()
        added = self.fill_history(total)
        log(
            f"history: {self.task_count():,} tasks (+{added:,} in "
            f"{time.monotonic() - started:.1f} s)"
        )

    # --- 1. the table poll against the floor

    def table_poll(self, history: int) -> None:
        self.stack.wait_until_idle()
        requests: dict[str, Callable[[], str]] = {
            "floor": lambda: f"{self.web}/bench/floor",
            # Each run asks with the version current when it starts (a worker that
            # comes or goes between runs would change it).
            "unchanged": lambda: f"{self.web}/tasks/?since={self.current_version()}",
            "changed": lambda: f"{self.web}/tasks/",
        }
        self.expect(requests["unchanged"](), 204)
        self.expect(requests["changed"](), 200)
        runs: dict[str, list[WrkRun]] = {name: [] for name in requests}
        for _ in range(self.rounds):  # interleaved, so each round shares its noise
            for name, url in requests.items():
                runs[name].append(self.load(url(), headers=[HTMX]))
        self.results.setdefault("poll", {})[str(history)] = {
            name: summarize_runs(measured) | {"ratio_to_floor": ratio(measured, runs["floor"])}
            for name, measured in runs.items()
        }
        row = self.results["poll"][str(history)]
        log(
            f"poll at {history:,}: "
            + ", ".join(f"{name} {row[name]['ratio_to_floor']:.2f}x" for name in requests)
        )

    # --- 6. growth: single-connection latency at each history size

    def growth(self, history: int) -> None:
        self.stack.wait_until_idle()
        requests: dict[str, Callable[[], str]] = {
            "floor": lambda: f"{self.web}/bench/floor",
            "unchanged": lambda: f"{self.web}/tasks/?since={self.current_version()}",
            "changed": lambda: f"{self.web}/tasks/",
        }
        runs: dict[str, list[WrkRun]] = {name: [] for name in requests}
        for _ in range(2):
            for name, url in requests.items():
                runs[name].append(wrk(url(), seconds=1, connections=1, headers=[HTMX]))
        self.results.setdefault("growth", {})[str(history)] = {
            name: summarize_runs(measured) for name, measured in runs.items()
        }
        row = self.results["growth"][str(history)]
        log(
            f"growth at {history:,}: "
            + ", ".join(f"{name} p50 {row[name]['latency_ms']['p50']:.2f} ms" for name in requests)
        )

    # --- 2. submit against the floor and the seed's submit

    def queue_drained(self) -> bool:
        """The default Celery queue is empty (the seed's tasks leave no record)."""
        import redis

        client = redis.Redis.from_url(self.stack.env["REDIS_URL"])
        try:
            return int(client.llen("celery")) == 0
        finally:
            client.close()

    def submit(self) -> None:
        self.stack.wait_until_idle()
        runs: dict[str, list[WrkRun]] = {"floor": [], "seed_submit": [], "submit": []}
        answered = recorded = 0
        for _ in range(self.rounds):
            runs["floor"].append(self.load(f"{self.web}/bench/floor"))
            runs["seed_submit"].append(
                self.load(
                    f"{self.web}/bench/seed/tasks/",
                    method="POST",
                    body="type=0",
                    content_type=FORM,
                )
            )
            # Both submits are measured with the worker running what is submitted,
            # each from an empty queue.
            wait_for(self.queue_drained, 120, "the seed's tasks to run")
            before = self.task_count()
            run = self.load(
                f"{self.web}/tasks/",
                method="POST",
                body="type=0",
                content_type=FORM,
            )
            runs["submit"].append(run)
            # The worker drains the backlog between rounds, so that every round
            # starts from the same state.
            self.stack.wait_until_idle(timeout=120)
            wait_for(self.queue_drained, 120, "the queue to drain")
            # wrk counts only non-error answers (all 202 here, as errors stop the
            # bench) that completed before its deadline; a request still in flight
            # then may add a record without being counted.
            answered += run.requests
            recorded += self.task_count() - before
        self.results["submit"] = {
            name: summarize_runs(measured) | {"ratio_to_floor": ratio(measured, runs["floor"])}
            for name, measured in runs.items()
        }
        self.results["submit"]["submit"]["ratio_to_seed"] = ratio(
            runs["submit"], runs["seed_submit"]
        )
        self.results["submit"]["accepted"] = answered
        self.results["submit"]["recorded"] = recorded
        self.results["submit"]["database_locked"] = self.database_locked()
        log(
            f"submit: {self.results['submit']['submit']['ratio_to_floor']:.2f}x floor, "
            f"{self.results['submit']['submit']['ratio_to_seed']:.2f}x the seed's submit; "
            f"{answered:,} answered 202, {recorded:,} recorded"
        )

    def database_locked(self) -> int:
        """How often any server of the stack logged "database is locked" so far."""
        return sum(
            log_path.read_text(errors="replace").count("database is locked")
            for log_path in self.stack.directory.glob("*.log")
        )

    # --- reads: a task's JSON against the seed's status read, the page against the floor

    def finished_task(self) -> str:
        """The id of the newest finished task, as its URL spells it."""
        newest = "SELECT task_id FROM tasks_taskrecord WHERE status = 'SUCCESS' ORDER BY id DESC"
        rows = self.stack.fetch(f"{newest} LIMIT 1")
        return str(uuid.UUID(str(rows[0][0])))

    def seed_task(self) -> str:
        answer = httpx.post(f"{self.web}/bench/seed/tasks/", data={"type": "0"})
        answer.raise_for_status()
        task_id = str(answer.json()["task_id"])
        url = f"{self.web}/bench/seed/tasks/{task_id}/"
        wait_for(
            lambda: httpx.get(url).json()["task_status"] == "SUCCESS",
            30,
            "the seed's task to succeed",
        )
        return task_id

    def reads(self) -> None:
        self.stack.wait_until_idle()
        seed_id, our_id = self.seed_task(), self.finished_task()
        requests: dict[str, tuple[str, str]] = {
            "floor": ("/bench/floor", ANY),
            "seed_status": (f"/bench/seed/tasks/{seed_id}/", ANY),
            "task_json": (f"/tasks/{our_id}/", ANY),
            "page": ("/", HTML),
        }
        for path, accept in requests.values():
            name, value = accept.split(": ", 1)
            got = httpx.get(f"{self.web}{path}", headers={name: value})
            if got.status_code != 200:
                raise RuntimeError(f"{path} answered {got.status_code}, expected 200")
        runs: dict[str, list[WrkRun]] = {name: [] for name in requests}
        for _ in range(self.rounds):
            for name, (path, accept) in requests.items():
                runs[name].append(self.load(f"{self.web}{path}", headers=[accept]))
        self.results["reads"] = {
            name: summarize_runs(measured) | {"ratio_to_floor": ratio(measured, runs["floor"])}
            for name, measured in runs.items()
        }
        self.results["reads"]["task_json"]["ratio_to_seed"] = ratio(
            runs["task_json"], runs["seed_status"]
        )
        log(
            f"reads: task JSON {self.results['reads']['task_json']['ratio_to_seed']:.2f}x "
            f"the seed's status read, page {self.results['reads']['page']['ratio_to_floor']:.2f}x"
            " floor"
        )

    # --- busy hour: the same four requests, quiet at 1 000 tasks and in a busy hour

    def single_latencies(self, label: str) -> None:
        """p50 of the page, both polls and a task's JSON on one connection (like the
        growth rows), with the floor next to them."""
        task_id = self.finished_task()
        requests: dict[str, Callable[[], tuple[str, str]]] = {
            "floor": lambda: ("/bench/floor", ANY),
            "page": lambda: ("/", HTML),
            "changed": lambda: ("/tasks/", HTMX),
            "unchanged": lambda: (f"/tasks/?since={self.current_version()}", HTMX),
            "task_json": lambda: (f"/tasks/{task_id}/", ANY),
        }
        runs: dict[str, list[WrkRun]] = {name: [] for name in requests}
        for _ in range(self.rounds):
            for name, request in requests.items():
                path, header = request()
                run = wrk(f"{self.web}{path}", seconds=1, connections=1, headers=[header])
                if run.errors:
                    raise RuntimeError(f"{run.errors} errors from {path}: {run}")
                runs[name].append(run)
        self.results.setdefault("busy_hour", {})[label] = {
            name: summarize_runs(measured) for name, measured in runs.items()
        }
        row = self.results["busy_hour"][label]
        log(
            f"{label}: "
            + ", ".join(f"{name} p50 {row[name]['latency_ms']['p50']:.2f} ms" for name in requests)
        )

    def busy_hour(self, history: int) -> None:
        """A history of `history` tasks of which a fifth finished within the last hour
        and 1 % are queued, with the workers busy with long tasks; measured against
        the quiet figures taken at 1 000 tasks (`single_latencies("quiet")`)."""
        self.stack.wait_until_idle()
        recent, queued = history // 5, history // 100
        started = time.monotonic()
        self.fill_busy_hour(recent, queued)
        log(
            f"busy hour: {self.task_count():,} tasks, {recent:,} finished within "
            f"the hour, {queued:,} queued (in {time.monotonic() - started:.1f} s)"
        )
        # Long tasks keep both worker processes busy for the whole measurement
        # (12 s each; a second pair waits behind the first).
        self.start_long_tasks(4)
        running = "SELECT count(*) FROM tasks_taskrecord WHERE status = 'STARTED'"
        wait_for(lambda: self.stack.fetch(running)[0][0] >= 2, 30, "two long tasks to run")
        self.single_latencies("busy")
        self.results["busy_hour"]["setup"] = {
            "history": self.task_count(),
            "finished_within_hour": recent,
            "queued": queued,
            "running": 2,
        }

    # --- 3. submit-to-SUCCESS against a bare Celery round trip

    def latency(self, samples: int) -> None:
        from bench.floor import ping  # the Celery app reads the stack's settings

        self.stack.wait_until_idle()

        answered: list[float] = []

        def through_json() -> float:
            started = time.perf_counter()
            answer = self.http.post("/tasks/", data={"type": "0"})
            answer.raise_for_status()
            answered.append((time.perf_counter() - started) * 1000)
            url = answer.json()["url"]
            deadline = started + 10
            while self.http.get(url).json()["task_status"] != "SUCCESS":
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{url} did not succeed within 10 s")
                time.sleep(0.0005)  # leaves the CPU to the worker between looks
            return (time.perf_counter() - started) * 1000

        def bare_celery() -> float:
            started = time.perf_counter()
            ping.delay().get(timeout=10)
            return (time.perf_counter() - started) * 1000

        for _ in range(3):  # warm both paths: connections, imports
            through_json()
            bare_celery()
        answered.clear()
        measured: dict[str, list[float]] = {"submit_to_success": [], "celery_ping": []}
        for _ in range(samples):  # interleaved pairs
            measured["submit_to_success"].append(through_json())
            measured["celery_ping"].append(bare_celery())
        measured["submit_answered"] = answered
        self.results["latency"] = {
            name: summarize_samples(values) for name, values in measured.items()
        }
        self.results["latency"]["difference_ms"] = statistics.median(
            measured["submit_to_success"]
        ) - statistics.median(measured["celery_ping"])
        log(
            f"latency: submit-to-SUCCESS - bare Celery = "
            f"{self.results['latency']['difference_ms']:.1f} ms"
        )

    # --- 4 and 5. one dashboard in a browser, then many simulated ones

    def start_long_tasks(self, count: int) -> int:
        for _ in range(count):
            self.http.post("/tasks/", data={"type": "3"}).raise_for_status()
        return count

    def watching(self, quick: bool) -> None:
        from bench.browser import watching_cost

        self.results["watching"] = watching_cost(
            self.web,
            wait_idle=self.stack.wait_until_idle,
            start_tasks=lambda: self.start_long_tasks(4),
            idle_seconds=10.5 if quick else 15.5,
            active_seconds=6 if quick else 10,
        )
        idle, active = (
            self.results["watching"]["idle"],
            self.results["watching"]["active"],
        )
        log(
            f"watching: idle {idle['requests_per_minute']:.0f} req/min, "
            f"active {active['requests_per_minute']:.0f} req/min"
        )

    def dashboards(self, ladder: list[int]) -> None:
        """How many dashboards refreshing once a second keep p99 under 100 ms.

        Each simulated dashboard polls the table once a second with the version it
        shows, as the page does (see bench/dashboards.py), while long tasks run, so
        the table keeps changing and most polls get the whole fragment. Steps up the
        ladder until p99 passes 100 ms, and says which processes used the cores.
        """
        from bench.dashboards import simulate

        port = int(self.web.rsplit(":", 1)[1])
        groups = {
            name: self.stack.services[service].process.pid  # each leads its group
            for name, service in (("gunicorn", "web"), ("celery", "worker"))
        }
        if self.redis_pid:
            groups["redis"] = self.redis_pid

        def step_of(count: int, path: str) -> dict[str, Any]:
            # A few short trials per step, judged by their median: one burst from
            # another tenant of this machine shouldn't decide the figure.
            trials = [
                simulate(port, path, count, seconds=3, groups=groups, since=self.current_version())
                for _ in range(3)
            ]
            step: dict[str, Any] = {
                "dashboards": count,
                "path": path,
                "per_second": statistics.median(t["per_second"] for t in trials),
                "p50_ms": statistics.median(t["p50_ms"] for t in trials),
                "p99_ms": statistics.median(t["p99_ms"] for t in trials),
                "errors": sum(int(t["errors"]) for t in trials),
                "cores": {
                    name: statistics.median(t["cores"][name] for t in trials)
                    for name in trials[0]["cores"]
                },
                "trials": trials,
            }
            # CPU per answered poll: what decides the ceiling on a fixed number of cores.
            step["cpu_ms_per_poll"] = {
                name: 1000 * cores / step["per_second"] if step["per_second"] else None
                for name, cores in step["cores"].items()
                if name != "machine"
            }
            step["fresh"] = step["p99_ms"] < 100 and step["errors"] == 0
            p99s = ", ".join(f"{trial['p99_ms']:.0f}" for trial in trials)
            cores = ", ".join(f"{name} {value:.2f}" for name, value in step["cores"].items())
            log(
                f"{count} dashboards on {path}: {step['per_second']:.0f} req/s, "
                f"p99 {p99s} ms, {step['errors']} errors; cores: {cores}"
            )
            return step

        # The baseline: as many dashboards as the goal, polling the no-op view. If
        # they stay fresh, the simulator and the web tier can carry that rate here,
        # and whatever fails below is the poll's own cost.
        floor = step_of(max(ladder), "/bench/floor")
        steps: list[dict[str, Any]] = []
        for count in ladder:
            # Long tasks keep the table changing through every trial.
            if self.stack.active_task_count() < 2:
                self.start_long_tasks(4)
            steps.append(step_of(count, "/tasks/"))
            if not steps[-1]["fresh"]:
                break
        passed = [step["dashboards"] for step in steps if step["fresh"]]
        failed = [step["dashboards"] for step in steps if not step["fresh"]]
        self.results["dashboards"] = {
            "floor": floor,
            "steps": steps,
            "kept_fresh": max(passed, default=0),
            "first_failing": min(failed, default=None),
            "limit": dashboard_limit(steps),
        }


def dashboard_limit(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the dashboards ran out: who used the cores at the last step, and how
    many dashboards the server's CPU per poll would allow on this machine's cores
    were nothing else running (the simulator, other tenants) - a ceiling, not a
    measurement."""
    last = steps[-1]
    ours = {name: value for name, value in last["cores"].items() if name != "machine"}
    cores = os.cpu_count() or 1
    limit: dict[str, Any] = {
        "at_step": last["dashboards"],
        "busiest": max(ours, key=lambda name: ours[name]),
        "cores_used": last["cores"],
        "cores": cores,
        "server_cpu_ms_per_poll": None,
        "simulator_cpu_ms_per_poll": None,
        "ceiling_if_alone": None,
    }
    # Only a step that stayed fresh gives an honest CPU per poll: past saturation,
    # requests the simulator gave up on still cost the server CPU.
    calm = next((step for step in reversed(steps) if step["fresh"]), None)
    if calm:
        per_poll = calm["cpu_ms_per_poll"]
        server_ms = sum(per_poll.get(name) or 0 for name in ("gunicorn", "redis"))
        limit |= {
            "server_cpu_ms_per_poll": server_ms,
            "simulator_cpu_ms_per_poll": per_poll.get("simulator"),
            "ceiling_if_alone": round(cores * 1000 / server_ms) if server_ms else None,
        }
    return limit


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with Path("/proc/cpuinfo").open() as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    os_name = "unknown"
    release = Path("/etc/os-release")
    if release.exists():
        fields = dict(
            line.split("=", 1) for line in release.read_text().splitlines() if "=" in line
        )
        os_name = fields.get("PRETTY_NAME", os_name).strip('"')
    memory_kb = 0
    with Path("/proc/meminfo").open() as info:
        memory_kb = int(info.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024),
        "os": os_name,
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


# The PostgreSQL pass stops at 100 000 tasks: its fill goes through the rollup
# triggers row by row (bench/fill_postgres.py), about 9 s per 100 000 here, so a
# million would add minutes to a run that should stay near five.
POSTGRES_HISTORY = 100_000


def measure_pass(
    database: str, redis: Stack, sizes: list[int], quick: bool, full: bool
) -> dict[str, Any]:
    """One pass on `database` ("sqlite" or "postgres"): a worker and gunicorn on a
    fresh database, the shared Redis emptied, the history filled to each of `sizes`.

    The full pass (SQLite, as `make run`) measures everything; the other one the
    same table without the browser and the dashboards ladder, which measure the
    page's manners and the web tier rather than the database.
    """
    directory = OUT / f"stack-{database}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    env = redis.env | {
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "STATIC_ROOT": str(directory / "static"),
    }
    stack = Stack(url="", env=env, directory=directory)
    began = time.monotonic()
    try:
        if database == "postgres":
            env["DATABASE_URL"] = start_postgres(stack, free_port())
        log(f"{database}: starting a celery worker and gunicorn in {directory}")
        flush_redis(redis)  # the render cache is keyed by versions both passes reuse
        stack.manage("migrate", "--noinput", "-v", "0")
        stack.manage("collectstatic", "--noinput", "-v", "0")
        start_worker(stack)
        web = start_gunicorn(stack, "web", "bench.settings")
        stack.url = web
        bench = Bench(stack, web, quick, redis.services["redis"].process.pid)
        if not full:
            bench.seconds = 1  # keeps the second pass near two minutes; still paired runs
        middle = min(100_000, sizes[-1])
        for size in sizes:
            bench.fill(size)
            bench.growth(size)
            if size == sizes[0]:
                bench.single_latencies("quiet")
            if size in (10_000, 100_000):
                bench.table_poll(size)
            if size == middle:  # the rest at 100k (or the most)
                if full:
                    bench.watching(quick)
                    bench.dashboards([200, 400, 800, 1200, 1600, 2000])
                bench.submit()
                bench.reads()
                bench.latency(samples=15 if quick else 30)
        # Last: it leaves the queue full and the workers busy.
        bench.busy_hour(sizes[-1])
    finally:
        stack.stop()
        for leftover in directory.glob("db.sqlite3*"):
            leftover.unlink()  # up to a few hundred MB; the logs stay for a post-mortem
    return bench.results | {
        "setup": {
            "database": "PostgreSQL" if database == "postgres" else "SQLite (WAL)",
            "gunicorn_workers": runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"],
            "gunicorn_worker_class": "sync",
            "celery_concurrency": 2,
            "wrk_seconds_per_run": bench.seconds,
            "rounds": bench.rounds,
            "history_sizes": sizes,
            "seconds": round(time.monotonic() - began),
        },
    }


def flush_redis(redis: Stack) -> None:
    import redis as client

    connection = client.Redis.from_url(redis.env["REDIS_URL"])
    try:
        connection.flushall()
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke test")
    parser.add_argument("--max-history", type=int, default=1_000_000)
    parser.add_argument(
        "--databases",
        default="sqlite,postgres",
        help="the passes to run, of sqlite,postgres (PostgreSQL is skipped, and said so, "
        "when no server is installed)",
    )
    args = parser.parse_args()
    databases = args.databases.split(",")
    if unknown := set(databases) - {"sqlite", "postgres"}:
        parser.error(f"unknown database: {', '.join(sorted(unknown))}")
    stop_on_sigterm()
    began = time.monotonic()
    this_machine = machine()  # the load average before the bench adds its own
    OUT.mkdir(parents=True, exist_ok=True)
    directory = OUT / "redis"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    redis_port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "TASK_TIME_SCALE": TIME_SCALE,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    # This process is a Celery client of the stack under test (the bare round
    # trip): one Redis serves both passes, so its broker settings hold for both.
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")})
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request

    redis = Stack(url="", env=env, directory=directory)
    sizes = [size for size in (1_000, 10_000, 100_000, 1_000_000) if size <= args.max_history]
    results: dict[str, Any] = {}
    try:
        start_redis(redis, redis_port)
        if "sqlite" in databases:
            results |= measure_pass("sqlite", redis, sizes, args.quick, full=True)
        if "postgres" in databases:
            if postgres_bindir() is None:
                log("postgres: skipped, no PostgreSQL server installed (scripts/ensure-postgres)")
                results["postgres"] = {"skipped": "no PostgreSQL server installed"}
            else:
                pg_sizes = [size for size in (1_000, POSTGRES_HISTORY) if size <= sizes[-1]]
                try:
                    results["postgres"] = measure_pass(
                        "postgres", redis, pg_sizes, args.quick, full=False
                    )
                except Exception as error:  # the SQLite figures still count
                    log(f"postgres: failed ({error!r}); logs in {OUT / 'stack-postgres'}")
                    results["postgres"] = {"skipped": f"the pass failed: {error!r}"}
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        return 130
    finally:
        redis.stop()
    results |= {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": this_machine,
        "duration_seconds": round(time.monotonic() - began),
    }
    report.write(results, OUT)
    print(report.markdown(results))
    log(
        f"done in {results['duration_seconds']} s; wrote {OUT}/results.json, "
        f"results.md and growth.png"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
