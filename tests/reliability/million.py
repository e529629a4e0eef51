"""The million finished tasks of the growth tests, and what they write and read."""

import contextlib
import os
import sqlite3
from pathlib import Path

from bench.fill import fill_history
from conftest import Stack

MILLION = 1_000_000
# Finished tasks of the filled history that also get a timeline (3 events each).
WITH_EVENTS = 50_000

ACTIVE = ("PENDING", "STARTED", "RETRY")
FINISHED = ("SUCCESS", "FAILURE", "REVOKED")


def fill_million(migrated: Path, directory: Path) -> Path:
    """A migrated directory whose database holds a million finished tasks (all of them
    finished in January 2026, long past any retention period), some with events."""
    with (
        sqlite3.connect(migrated / "db.sqlite3") as source,
        sqlite3.connect(directory / "db.sqlite3") as target,
    ):
        source.backup(target)
    (directory / "static").symlink_to(migrated / "static")
    fill_history(directory / "db.sqlite3", MILLION)
    with contextlib.closing(sqlite3.connect(directory / "db.sqlite3")) as db, db:
        db.execute(
            "INSERT INTO tasks_taskevent (task_id, status, at, note) "
            "SELECT id, step.status, finished_at, '' FROM tasks_taskrecord "
            "JOIN (SELECT 'PENDING' AS status UNION ALL SELECT 'STARTED' "
            "UNION ALL SELECT 'SUCCESS') AS step WHERE id <= ?",
            (WITH_EVENTS,),
        )
    return directory


def add_task(db: sqlite3.Connection, status: str, finished_at: str | None, **more: object) -> int:
    """One task row, written as a worker would have left it; returns its id."""
    stamp = finished_at or "2025-06-01 12:00:00"
    columns = {
        "task_id": os.urandom(16).hex(),
        "kind": 0,
        "status": status,
        "progress": 0,
        "attempts": 1,
        "submitted_at": stamp,
        "started_at": stamp,
        "finished_at": finished_at,
        "updated_at": stamp,
        "result": None,
        "error": "",
        "traceback": "",
        "worker": "w@host",
        "worker_instance": "",
        **more,
    }
    cursor = db.execute(
        f"INSERT INTO tasks_taskrecord ({', '.join(columns)}) "  # noqa: S608  # our own names
        f"VALUES ({', '.join('?' for _ in columns)})",
        tuple(columns.values()),
    )
    return int(cursor.lastrowid or 0)


def add_active_tasks(database: Path) -> list[int]:
    """One task of each active status, submitted long ago: never to be deleted. The
    STARTED one comes first: the progress writer writes to it."""
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        return [add_task(db, status, None) for status in ("STARTED", "PENDING", "RETRY")]


def status_counts(stack: Stack) -> tuple[dict[str, int], dict[str, int]]:
    """The counters the dashboard shows, and the real counts."""
    counters = dict(stack.fetch("SELECT status, count FROM tasks_statuscount"))
    real = {status: 0 for status in counters}
    real.update(stack.fetch("SELECT status, count(*) FROM tasks_taskrecord GROUP BY status"))
    return counters, real


def group_rss_mb(pgid: int) -> float:
    """Resident memory of the largest process in a process group (a gunicorn worker)."""
    largest = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                largest = max(largest, int(fields[21]) * os.sysconf("SC_PAGE_SIZE"))
    return largest / 2**20
