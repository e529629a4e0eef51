"""A history of a million finished tasks: clearing it over HTTP and the retention job
delete it in short batches, so a worker writing progress meanwhile is never refused
("database is locked") and never waits long; the web process's memory stays flat;
the counters stay exact. And celery beat really runs the retention job.

The million rows go in with one INSERT … SELECT (bench/fill.py), once for the module.
"""

import contextlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from bench.fill import fill_history
from conftest import Stack, start_beat, start_worker, wait_for
from tests.reliability.conftest import (
    curl_like,
    private_stack,
    start_private_web,
    wait_for_log,
    web_service,
)
from tests.reliability.progress_writer import ProgressWriter

MILLION = 1_000_000
# Finished tasks of the filled history that also get a timeline (3 events each).
WITH_EVENTS = 50_000

# Minutes: `make test` starts this module first, beside the rest of the suite.
pytestmark = pytest.mark.long

ACTIVE = ("PENDING", "STARTED", "RETRY")
FINISHED = ("SUCCESS", "FAILURE", "REVOKED")


@pytest.fixture(scope="module")
def filled(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated directory whose database holds a million finished tasks (all of them
    finished in January 2026, long past any retention period), some with events."""
    directory = tmp_path_factory.mktemp("million")
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


@pytest.mark.timeout(600)
def test_clearing_a_million_finished_tasks_never_locks_out_a_worker(
    filled: Path, tmp_path: Path
) -> None:
    with private_stack(filled, tmp_path) as stack:
        database = stack.directory / "db.sqlite3"
        active = add_active_tasks(database)
        start_private_web(stack)
        web = web_service(stack)
        rounds: list[tuple[int, float]] = []
        with curl_like(stack.url, timeout=60) as client:
            client.get("/tasks/")
            rss_before = group_rss_mb(web.process.pid)
            with ProgressWriter(database, active[0]) as writer:
                began = time.monotonic()
                response = client.post("/tasks/clear/")
                while True:
                    rounds.append((response.status_code, response.elapsed.total_seconds()))
                    assert response.status_code in (200, 202), response.text
                    body = response.json()
                    if response.status_code == 200:
                        break
                    assert body["deleted"] + body["remaining"] == MILLION
                    step = body["continue"]
                    response = client.post(step["url"], json=step["body"])
                took = time.monotonic() - began
            rss_after = group_rss_mb(web.process.pid)

        print(
            f"\nclear: {MILLION:,} rows in {took:.1f} s over {len(rounds)} requests "
            f"(longest {max(seconds for _, seconds in rounds):.1f} s); progress writes: "
            f"{writer.writes.count}, longest {writer.writes.longest_wait * 1000:.0f} ms "
            f"(for the lock {writer.writes.longest_lock_wait * 1000:.0f} ms), "
            f"refused {len(writer.writes.refused)}; web RSS {rss_before:.0f} -> "
            f"{rss_after:.0f} MB"
        )
        assert body == {"deleted": MILLION}
        assert all(seconds < 20 for _, seconds in rounds)
        assert writer.writes.refused == []
        assert writer.writes.count > 100
        # The batches bound the wait for the lock; the whole write also pays for CPU
        # and disk, shared on a loaded test machine.
        assert writer.writes.longest_lock_wait < 1.0
        assert writer.writes.longest_wait < 2.0
        assert rss_after - rss_before < 50
        assert stack.fetch("SELECT id FROM tasks_taskrecord ORDER BY id") == [
            (task,) for task in sorted(active)
        ]
        assert stack.fetch("SELECT count(*) FROM tasks_taskevent") == [(0,)]
        counters, real = status_counts(stack)
        assert counters == real
        assert "database is locked" not in web.log()
        assert "Traceback" not in web.log()


@pytest.mark.timeout(600)
def test_retention_deletes_a_million_old_tasks_never_locking_out_a_worker(
    filled: Path, tmp_path: Path
) -> None:
    with private_stack(filled, tmp_path) as stack:
        database = stack.directory / "db.sqlite3"
        active = add_active_tasks(database)
        yesterday = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 86400))
        two_days_ago = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 2 * 86400))
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            # A recent retry of an old task: it stays, and forgets the task it retried.
            recent = [add_task(db, status, yesterday) for status in FINISHED]
            recent.append(add_task(db, "SUCCESS", yesterday, retry_of_id=7))
            db.execute(
                "INSERT INTO tasks_workerstatus (hostname, instance, concurrency, started_at, "
                "last_seen, queues, consuming) VALUES "
                "('killed@host', '', 2, ?, ?, '[]', '[]'), ('live@host', '', 2, ?, ?, '[]', '[]')",
                (two_days_ago, two_days_ago, yesterday, time.strftime("%Y-%m-%d %H:%M:%S")),
            )
            db.execute(
                "INSERT INTO django_session VALUES ('expired', '', ?), ('live', '', ?)",
                (yesterday, "2999-01-01 00:00:00"),
            )

        with ProgressWriter(database, active[0]) as writer:
            began = time.monotonic()
            output = stack.manage("apply_retention")
            took = time.monotonic() - began

        print(
            f"\nretention: {MILLION:,} rows in {took:.1f} s; progress writes: "
            f"{writer.writes.count}, longest {writer.writes.longest_wait * 1000:.0f} ms "
            f"(for the lock {writer.writes.longest_lock_wait * 1000:.0f} ms), "
            f"refused {len(writer.writes.refused)}"
        )
        assert f"deleted {MILLION} finished tasks" in output
        assert "1 stale worker rows" in output
        assert writer.writes.refused == []
        assert writer.writes.count > 100
        # The batches bound the wait for the lock; the whole write also pays for CPU
        # and disk, shared on a loaded test machine.
        assert writer.writes.longest_lock_wait < 1.0
        assert writer.writes.longest_wait < 2.0
        kept = stack.fetch("SELECT id, retry_of_id FROM tasks_taskrecord ORDER BY id")
        assert kept == [(task, None) for task in sorted(active + recent)]
        assert stack.fetch("SELECT count(*) FROM tasks_taskevent") == [(0,)]
        assert stack.fetch("SELECT hostname FROM tasks_workerstatus") == [("live@host",)]
        assert stack.fetch("SELECT session_key FROM django_session") == [("live",)]
        counters, real = status_counts(stack)
        assert counters == real


def test_celery_beat_runs_the_retention_job(migrated: Path, tmp_path: Path) -> None:
    with private_stack(migrated, tmp_path, RETENTION_INTERVAL_SECONDS="1") as stack:
        with contextlib.closing(stack.database()) as db, db:
            old = [add_task(db, status, "2026-01-01 00:00:00") for status in FINISHED]
            recent = add_task(db, "SUCCESS", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()))
        start_worker(stack)
        beat = start_beat(stack)

        def old_gone() -> bool:
            ids = {task for (task,) in stack.fetch("SELECT id FROM tasks_taskrecord")}
            return not ids & set(old)

        wait_for(old_gone, 60, "the retention job to delete the old tasks")
        wait_for_log(beat.log, "Sending due task apply-retention", 10)
        wait_for_log(stack.services["worker"].log, "retention: deleted 3 finished tasks", 10)
        # What is left: the recent task, and the retention job's own runs, which are
        # listed as tasks published elsewhere (running/seen.py: beat sent them).
        assert stack.fetch("SELECT id FROM tasks_taskrecord WHERE kind IS NOT NULL") == [(recent,)]
        assert {
            name for (name,) in stack.fetch("SELECT name FROM tasks_taskrecord WHERE kind IS NULL")
        } <= {"tasks.apply_retention"}
        # Beat's database scheduler copied CELERY_BEAT_SCHEDULE into its own tables.
        assert stack.fetch(
            "SELECT i.every, i.period FROM django_celery_beat_periodictask p "
            "JOIN django_celery_beat_intervalschedule i ON p.interval_id = i.id "
            "WHERE p.name = 'apply-retention' AND p.enabled"
        ) == [(1, "seconds")]
