"""The real stack as processes: the helpers that tests/ (through conftest.py's fixtures),
e2e/ and bench/ share to start and stop it.

Redis, Celery workers, the scheduler, beat and gunicorn run as separate processes on free
loopback ports, each in a process group of its own so that stopping one stops its
children; optionally a private PostgreSQL cluster. Nothing here depends on pytest: bench/
starts the same stack outside a test session.
"""

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NO_POSTGRES = "no PostgreSQL server found (apt install postgresql)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    interval: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Poll `condition` until it returns something truthy, or fail after `timeout`.
    `sleep`: how to wait between polls (a browser test lets its page run meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        sleep(interval)


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Children (prefork pool, gunicorn workers) share the group; make sure.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log_file.close()


@dataclass
class Stack:
    """The running stack: its URL, its environment, and its processes' logs."""

    url: str
    env: dict[str, str]
    directory: Path
    services: dict[str, Service] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def start(self, name: str, *command: str, env: dict[str, str] | None = None) -> Service:
        log_path = self.directory / f"{name}.log"
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env or self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        service = Service(name, process, log_path, log_file)
        self.services[name] = service
        return service

    def manage(self, *args: str) -> str:
        """Run a manage.py command against this stack's database; return its output."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def database(self) -> sqlite3.Connection:
        return sqlite3.connect(self.directory / "db.sqlite3")

    def fetch(self, query: str) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on this stack's database, SQLite or PostgreSQL."""
        if self.env["DATABASE_URL"].startswith("postgres"):
            with psycopg.connect(self.env["DATABASE_URL"]) as pg:
                return list(pg.execute(query).fetchall())
        with contextlib.closing(self.database()) as db:
            return list(db.execute(query).fetchall())

    def active_task_count(self) -> int:
        # As the table counts active (its poll stays fast): a scheduled task too.
        rows = self.fetch(
            "SELECT count(*) FROM tasks_taskrecord"
            " WHERE status IN ('SCHEDULED', 'PENDING', 'STARTED', 'RETRY')"
        )
        return int(rows[0][0])

    def wait_until_idle(self, timeout: float = 60) -> None:
        wait_for(lambda: self.active_task_count() == 0, timeout, "no active task")

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        for cleanup in self.cleanups:
            cleanup()


def start_redis(stack: Stack, port: int) -> Service:
    redis = stack.start(
        "redis",
        shutil.which("redis-server") or "redis-server",
        "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
        "--dir", str(stack.directory),
    )  # fmt: skip

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_for(answers, 20, "redis-server to answer PING")
    return redis


def start_worker(
    stack: Stack, name: str = "worker", concurrency: int = 2, queues: str = "default,cpu"
) -> Service:
    # A restarted worker appends to its predecessor's log: wait for a new "ready".
    log_path = stack.directory / f"{name}.log"
    logged_before = len(log_path.read_text(errors="replace")) if log_path.exists() else 0
    worker = stack.start(
        name,
        str(BIN / "celery"), "-A", "webapp", "worker", "--loglevel=INFO",
        f"--concurrency={concurrency}", f"--hostname={name}@%h", f"--queues={queues}",
        "--without-gossip", "--without-mingle",
    )  # fmt: skip
    wait_for(lambda: " ready." in worker.log()[logged_before:], 60, f"celery {name} to be ready")
    return worker


def start_scheduler(stack: Stack) -> Service:
    """The process that publishes scheduled tasks when due (`manage.py publish_due`)."""
    log_path = stack.directory / "scheduler.log"
    logged_before = len(log_path.read_text(errors="replace")) if log_path.exists() else 0
    scheduler = stack.start("scheduler", sys.executable, "manage.py", "publish_due")
    ready = "scheduler ready"
    wait_for(lambda: ready in scheduler.log()[logged_before:], 30, "the scheduler to be ready")
    return scheduler


def start_beat(stack: Stack, max_interval: float = 1, env: dict[str, str] | None = None) -> Service:
    """`celery beat` on the stack's database (DatabaseScheduler, as `make run` runs it),
    rereading its schedule at least every `max_interval` seconds."""
    log_path = stack.directory / "beat.log"
    logged_before = len(log_path.read_text(errors="replace")) if log_path.exists() else 0
    beat = stack.start(
        "beat",
        str(BIN / "celery"), "-A", "webapp", "beat", "--loglevel=INFO",
        "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
        f"--max-interval={max_interval}",
        env=env,
    )  # fmt: skip
    wait_for(lambda: "beat: Starting" in beat.log()[logged_before:], 60, "celery beat to start")
    return beat


def start_web(
    stack: Stack,
    port: int,
    env: dict[str, str] | None = None,
    *,
    name: str | None = None,
    workers: int | None = 2,
) -> Service:
    """gunicorn as gunicorn.conf.py configures it, on 127.0.0.1:`port`, once it answers
    /healthz. `workers`: None leaves their number to gunicorn.conf.py (as deployed)."""
    name = name or ("web" if env is None else f"web-{port}")
    processes = [] if workers is None else ["--workers", str(workers)]
    web = stack.start(
        name,
        str(BIN / "gunicorn"), "--config", "gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", *processes, "webapp.wsgi",
        env=env,
    )  # fmt: skip

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, 60, f"gunicorn on port {port} to answer /healthz")
    return web


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server installed (Debian's layout), if any."""
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (bindir / "initdb").exists():
            return bindir
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
        if (bindir / "initdb").exists():
            return bindir
    return None


def start_postgres(stack: Stack, port: int) -> str:
    """A throwaway cluster on a free loopback port; returns its DATABASE_URL.

    PostgreSQL refuses to run as root, so as root it runs as the postgres user,
    in a directory of its own outside pytest's (root-only) temporary directory.
    """
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError(NO_POSTGRES)
    as_postgres = []
    root = Path(tempfile.mkdtemp(prefix="dashboard-postgres-"))
    if os.getuid() == 0:
        as_postgres = [
            "setpriv",
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
        ]
        shutil.chown(root, "postgres", "postgres")
    stack.cleanups.append(lambda: shutil.rmtree(root, ignore_errors=True))
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "--pgdata", str(root / "data"),
         "--username=dashboard", "--auth=trust", "--encoding=UTF8", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    stack.start(
        "postgres",
        *as_postgres, str(bindir / "postgres"), "-D", str(root / "data"),
        "-h", "127.0.0.1", "-p", str(port), "-k", str(root),
        "-c", "fsync=off", "-c", "synchronous_commit=off",
    )  # fmt: skip
    url = f"postgres://dashboard@127.0.0.1:{port}/postgres"

    def answers() -> bool:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    wait_for(answers, 30, "PostgreSQL to accept connections")
    return url
