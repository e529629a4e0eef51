"""Session fixtures shared by tests/ and e2e/: the real stack, started once.

Redis, a Celery worker (prefork, serving every queue) and gunicorn run as separate processes on free
loopback ports with a private SQLite database, exactly as `make run` runs them,
and are stopped (whole process groups) when the session ends. With `--postgres`
the database is a private PostgreSQL cluster instead (initdb in a temporary
directory, its own free port).
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The process helpers live in realstack.py (bench/ starts the same stack); they are
# re-exported here because tests import them from conftest.
from realstack import (
    BIN,
    NO_POSTGRES,
    ROOT,
    Service,
    Stack,
    free_port,
    postgres_bindir,
    start_beat,
    start_postgres,
    start_redis,
    start_scheduler,
    start_web,
    start_worker,
    wait_for,
)

__all__ = [
    "BIN",
    "PAGE_SIZE",
    "ROOT",
    "SCREENSHOTS",
    "TIME_SCALE",
    "Service",
    "Stack",
    "free_port",
    "postgres_bindir",
    "stack_environment",
    "start_beat",
    "start_postgres",
    "start_redis",
    "start_scheduler",
    "start_web",
    "start_worker",
    "wait_for",
]

# Short tasks take 4 s, long ones 12 s: long enough to watch a progress bar move
# at one refresh a second, short enough to keep the suite quick.
TIME_SCALE = "0.4"
# A small page, so that paging is exercised without hundreds of tasks.
PAGE_SIZE = 10


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        action="store_true",
        help="run the stack on a private PostgreSQL server (initdb) instead of SQLite",
    )


def stack_environment(directory: Path, redis_port: int) -> dict[str, str]:
    """The environment of a stack whose database and static files live in `directory`."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "STATIC_ROOT": str(directory / "static"),
        "EXPORT_DIR": str(directory / "exports"),
        "TASK_TIME_SCALE": TIME_SCALE,
        "DASHBOARD_PAGE_SIZE": str(PAGE_SIZE),
        # The suite launches hundreds of tasks from one address; test_rate_limit.py
        # checks the limit on a server of its own.
        "SUBMIT_RATE_LIMIT": "off",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GUNICORN_ACCESSLOG": "-",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("stack")
    redis_port, web_port = free_port(), free_port()
    env = stack_environment(directory, redis_port)
    stack = Stack(url=f"http://127.0.0.1:{web_port}", env=env, directory=directory)
    try:
        if pytestconfig.getoption("postgres"):
            if postgres_bindir() is None:
                pytest.exit(f"--postgres: {NO_POSTGRES}")
            env["DATABASE_URL"] = start_postgres(stack, free_port())
        start_redis(stack, redis_port)
        stack.manage("migrate", "--noinput", "-v", "0")
        stack.manage("collectstatic", "--noinput", "-v", "0")
        start_worker(stack)
        start_scheduler(stack)
        start_web(stack, web_port)
        yield stack
    finally:
        stack.stop()


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def pytest_make_parametrize_id(val: object) -> str | None:
    """A parameter holding a fresh uuid4 (an unknown task) gets the same test id in
    every process: xdist workers collect separately, and it refuses to run when their
    test ids differ. The value itself stays random."""
    if isinstance(val, str) and UUID.search(val):
        return UUID.sub("<uuid>", val)
    return None


# The order of the directories: slowest first, except the browser last. pytest-
# playwright's session keeps an asyncio loop running in its process from the first
# e2e test on, and Django refuses database access in-process from there (what the
# unit tests do), so in each xdist worker as in one process e2e comes after them.
ORDER = ["tests/reliability/", "tests/integration/", "tests/unit/", "e2e/"]


def run_order(item: pytest.Item) -> tuple[bool, int]:
    path = item.path.relative_to(ROOT).as_posix() if item.path.is_relative_to(ROOT) else ""
    place = next((n for n, d in enumerate(ORDER) if path.startswith(d)), len(ORDER))
    return item.get_closest_marker("long") is None, place


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked `long` (minutes each) first, then the directories in ORDER;
    within each, the order pytest and pytest-django chose. `make test` hands whole
    modules to its xdist workers in this order, so the long ones start at once, beside
    the rest, instead of holding up the end."""
    items.sort(key=run_order)


SCREENSHOTS = ROOT / "var" / "screenshots"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.iterdir()):
        terminalreporter.write_line(f"e2e screenshots: {SCREENSHOTS}")
