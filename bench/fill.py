"""Filling the task history fast: one INSERT ... SELECT over a recursive CTE.

A million finished tasks go in as a single statement inside SQLite (a few
seconds), instead of a million ORM saves (many minutes).
"""

import sqlite3
from pathlib import Path

INSERT_FINISHED = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO tasks_taskrecord (
    task_id, kind, status, progress, attempts, submitted_at, started_at, finished_at,
    updated_at, result, error, traceback, worker, worker_instance
)
SELECT
    lower(hex(randomblob(16))), i % 4, 'SUCCESS', 100, 1, stamp, stamp, stamp, stamp,
    '{"slept_seconds": 0.0, "steps": 1}', '', '', 'bench@history', ''
FROM (SELECT i, datetime('2026-01-01', '+' || (:offset + i) || ' seconds') AS stamp
      FROM n)
"""


# Tasks that finished within the last hour, spread evenly over it (whatever their
# number) and over the kinds and outcomes, each with a run time of 1 to 5 s, all of
# one owner (or none): a busy hour.
INSERT_RECENT = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO tasks_taskrecord (
    task_id, kind, status, progress, attempts, submitted_at, started_at, finished_at,
    run_time, updated_at, result, error, traceback, worker, worker_instance, owner_id
)
SELECT
    lower(hex(randomblob(16))), i % 8,
    CASE i % 3 WHEN 0 THEN 'SUCCESS' WHEN 1 THEN 'FAILURE' ELSE 'REVOKED' END,
    100, 1, started, started, finished, (i % 5 + 1) * 1000000, finished,
    '{"slept_seconds": 0.0, "steps": 1}', '', '', 'bench@history', '', :owner
FROM (SELECT i,
             strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ago || ' seconds') AS finished,
             strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (ago + i % 5 + 1) || ' seconds')
               AS started
      FROM (SELECT i, i * 3500 / :count + 5 AS ago FROM n))
"""


def fill_recent(db: sqlite3.Connection, count: int, owner: int | None = None) -> None:
    """Add `count` tasks finished within the last hour through an open connection
    (the caller's transaction): the triggers count each into the rollups."""
    db.execute(INSERT_RECENT, {"count": count, "owner": owner})


def task_count(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT count(*) FROM tasks_taskrecord").fetchone()[0])


def fill_history(database: Path, total: int) -> int:
    """Add finished tasks until the history holds `total`; return how many went in."""
    db = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        have = int(db.execute("SELECT count(*) FROM tasks_taskrecord").fetchone()[0])
        missing = total - have
        if missing <= 0:
            return 0
        db.execute("BEGIN IMMEDIATE")
        db.execute(INSERT_FINISHED, {"count": missing, "offset": have})
        db.execute("COMMIT")
        # Fold the big write-ahead log back into the database file, so that readers
        # don't wade through it afterwards.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("ANALYZE")
        return missing
    finally:
        db.close()


# Tasks waiting in the queue, submitted over the last minute (ids growing with the
# submission time, as the app's own submits do), all of the long kind.
INSERT_QUEUED = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO tasks_taskrecord (
    task_id, kind, status, progress, attempts, submitted_at, updated_at,
    error, traceback, worker, worker_instance
)
SELECT lower(hex(randomblob(16))), 3, 'PENDING', 0, 0, stamp, stamp, '', '', '', ''
FROM (SELECT i, strftime('%Y-%m-%d %H:%M:%f', 'now',
                         '-' || ((:count - i) * 60.0 / :count) || ' seconds') AS stamp
      FROM n)
"""

# The oldest finished tasks of the filled history, making room for the busy hour.
DELETE_OLDEST = """
DELETE FROM tasks_taskrecord WHERE id IN (
    SELECT id FROM tasks_taskrecord
    WHERE worker = 'bench@history' AND submitted_at < '2026-02-01'
    ORDER BY id LIMIT :count
)
"""


def fill_busy_hour(database: Path, recent: int, queued: int) -> None:
    """Turn part of the filled history into a busy hour, keeping the total: the
    oldest `recent + queued` finished tasks make way for `recent` tasks finished
    within the last hour and `queued` PENDING ones. The queued rows have no message
    in Redis (a million publishes would be the benchmark's cost, not the app's)."""
    db = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute(DELETE_OLDEST, {"count": recent + queued})
        fill_recent(db, recent)
        db.execute(INSERT_QUEUED, {"count": queued})
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("ANALYZE")
    finally:
        db.close()
