"""The same history as bench/fill.py, on PostgreSQL: the same rows, through the
app's own rollup triggers, in batches.

Batches because of how PostgreSQL keeps a row's versions: every task inserted in a
transaction updates the same few rollup rows (the status counts), and each update
adds a version that nothing can prune before the transaction ends, so the next
update walks a longer chain: 100 000 rows took 127 s as one statement (quadratic,
so a million would take hours) and 9 s in batches of 500.
"""

from typing import Any

import psycopg

BATCH = 500

INSERT_FINISHED = """
INSERT INTO tasks_taskrecord (
    task_id, kind, status, progress, attempts, submitted_at, started_at, finished_at,
    updated_at, result, error, traceback, worker, worker_instance
)
SELECT
    gen_random_uuid(), i %% 4, 'SUCCESS', 100, 1, stamp, stamp, stamp, stamp,
    '{"slept_seconds": 0.0, "steps": 1}', '', '', 'bench@history', ''
FROM (SELECT i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' AS stamp
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i) AS numbered
"""

# Spread evenly over the last hour, kinds and outcomes, run times of 1 to 5 s, as
# bench/fill.py's INSERT_RECENT.
INSERT_RECENT = """
INSERT INTO tasks_taskrecord (
    task_id, kind, status, progress, attempts, submitted_at, started_at, finished_at,
    run_time, updated_at, result, error, traceback, worker, worker_instance
)
SELECT
    gen_random_uuid(), i %% 8,
    CASE i %% 3 WHEN 0 THEN 'SUCCESS' WHEN 1 THEN 'FAILURE' ELSE 'REVOKED' END,
    100, 1, started, started, finished, (i %% 5 + 1) * interval '1 second', finished,
    '{"slept_seconds": 0.0, "steps": 1}', '', '', 'bench@history', ''
FROM (SELECT i, now() - ago * interval '1 second' AS finished,
             now() - (ago + i %% 5 + 1) * interval '1 second' AS started
      FROM (SELECT i, i * 3500 / %(count)s::bigint + 5 AS ago
            FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i) AS spread) AS stamped
"""

INSERT_QUEUED = """
INSERT INTO tasks_taskrecord (
    task_id, kind, status, progress, attempts, submitted_at, updated_at,
    error, traceback, worker, worker_instance
)
SELECT gen_random_uuid(), 3, 'PENDING', 0, 0, stamp, stamp, '', '', '', ''
FROM (SELECT i,
             now() - ((%(count)s::bigint - i) * 60.0 / %(count)s::bigint) * interval '1 second'
               AS stamp
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i) AS stamped
"""

DELETE_OLDEST = """
DELETE FROM tasks_taskrecord WHERE id IN (
    SELECT id FROM tasks_taskrecord
    WHERE worker = 'bench@history' AND submitted_at < '2026-02-01'
    ORDER BY id LIMIT %(last)s
)
"""


def _batches(db: psycopg.Connection[Any], statement: str, count: int, start: int = 1) -> None:
    """Run `statement` over the numbers start .. start + count - 1, one commit per batch."""
    for first in range(start, start + count, BATCH):
        last = min(first + BATCH, start + count) - 1
        db.execute(statement, {"first": first, "last": last, "count": count})


def _settle(db: psycopg.Connection[Any]) -> None:
    # The batches left dead versions of the rollup rows behind; the app's first
    # reads should not have to step over them (as SQLite's checkpoint, in fill.py).
    db.execute("VACUUM ANALYZE")


def task_count(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT count(*) FROM tasks_taskrecord").fetchone()
        return int(row[0]) if row else 0


def fill_history(url: str, total: int) -> int:
    """Add finished tasks until the history holds `total`; return how many went in."""
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute("SELECT count(*) FROM tasks_taskrecord").fetchone()
        have = int(row[0]) if row else 0
        missing = total - have
        if missing <= 0:
            return 0
        _batches(db, INSERT_FINISHED, missing, start=have + 1)
        _settle(db)
        return missing


def fill_busy_hour(url: str, recent: int, queued: int) -> None:
    """bench/fill.py's busy hour: the oldest `recent + queued` finished tasks make way
    for `recent` finished within the last hour and `queued` PENDING ones (no message
    in Redis; the worker's orphan sweep publishes them)."""
    with psycopg.connect(url, autocommit=True) as db:
        for first in range(0, recent + queued, BATCH):
            db.execute(DELETE_OLDEST, {"last": min(BATCH, recent + queued - first)})
        _batches(db, INSERT_RECENT, recent)
        _batches(db, INSERT_QUEUED, queued)
        _settle(db)
