"""Private stacks for the fault tests: each module that kills, stops or floods
something gets its own Redis, database, worker(s) and gunicorn, so the session
stack the other tests share is never disturbed.

The database is migrated and the static files collected once per session; each
private stack starts from a copy of that database.
"""

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx
import pytest

from conftest import (
    ROOT,
    Service,
    Stack,
    free_port,
    stack_environment,
    start_redis,
    start_web,
    wait_for,
)


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a migrated database and the collected static files."""
    directory = tmp_path_factory.mktemp("migrated")
    env = stack_environment(directory, free_port())
    for command in (["migrate"], ["collectstatic"]):
        subprocess.run(
            [sys.executable, "manage.py", *command, "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
    return directory


@contextmanager
def private_stack(migrated: Path, directory: Path, **settings: str) -> Iterator[Stack]:
    """A stack with its own Redis and a copy of the migrated database, running only
    Redis: the test module starts the workers and web servers it needs (the
    conftest helpers), and everything is stopped at the end. `settings` are extra
    environment variables."""
    with (
        sqlite3.connect(migrated / "db.sqlite3") as source,
        sqlite3.connect(directory / "db.sqlite3") as target,
    ):
        source.backup(target)
    redis_port, web_port = free_port(), free_port()
    env = stack_environment(directory, redis_port) | {
        "STATIC_ROOT": str(migrated / "static"),
        **settings,
    }
    stack = Stack(url=f"http://127.0.0.1:{web_port}", env=env, directory=directory)
    try:
        start_redis(stack, redis_port)
        yield stack
    finally:
        stack.stop()


def curl_like(url: str, timeout: float = 15) -> httpx.Client:
    """A client that speaks like curl: `Accept: */*`, and it keeps no cookies (a
    cookie would make the CSRF check apply, as for a browser)."""
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(
        base_url=url, timeout=timeout, headers={"Accept": "*/*"}, cookies=no_cookies
    )


@pytest.fixture(scope="package")
def target(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A private stack for the bad-input tests, with only what answers requests:
    Redis and gunicorn (accepted tasks stay queued; no worker is needed)."""
    with private_stack(migrated, tmp_path_factory.mktemp("target")) as stack:
        start_private_web(stack)
        yield stack


@pytest.fixture(scope="package")
def target_client(target: Stack) -> Iterator[httpx.Client]:
    with curl_like(target.url) as client:
        yield client


def web_port(stack: Stack) -> int:
    return int(stack.url.rsplit(":", 1)[1])


def start_private_web(stack: Stack) -> Service:
    """gunicorn (two workers, as in the session stack) on the stack's own port."""
    return start_web(stack, web_port(stack), env=stack.env)


def web_service(stack: Stack) -> Service:
    return stack.services[f"web-{web_port(stack)}"]


def redis_port(stack: Stack) -> int:
    return int(stack.env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])


def task_rows(stack: Stack) -> list[dict[str, object]]:
    """Every task record, read straight from the database."""
    with stack.database() as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM tasks_taskrecord ORDER BY id").fetchall()
    return [dict(row) for row in rows]


def timeline(stack: Stack, task_id: str) -> list[str]:
    """The statuses a task went through, in order (its TaskEvent rows)."""
    with stack.database() as db:
        rows = db.execute(
            "SELECT e.status FROM tasks_taskevent e JOIN tasks_taskrecord t ON e.task_id = t.id "
            "WHERE t.task_id = ? ORDER BY e.at, e.id",
            (task_id.replace("-", ""),),
        ).fetchall()
    return [status for (status,) in rows]


def notes(stack: Stack, task_id: str) -> list[str]:
    """The notes of a task's timeline events, in order."""
    with stack.database() as db:
        rows = db.execute(
            "SELECT e.note FROM tasks_taskevent e JOIN tasks_taskrecord t ON e.task_id = t.id "
            "WHERE t.task_id = ? ORDER BY e.at, e.id",
            (task_id.replace("-", ""),),
        ).fetchall()
    return [note for (note,) in rows]


def wait_for_log(log: Callable[[], str], text: str, timeout: float, after: int = 0) -> None:
    """Wait until `text` shows up in a service's log (past offset `after`)."""
    wait_for(lambda: text in log()[after:], timeout, f"{text!r} in the log")


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
