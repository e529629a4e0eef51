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
