"""The retention job on a history of a million old finished tasks: it deletes them in
short batches, so a worker writing progress meanwhile is never refused ("database is
locked") and never waits long, and it keeps what it must keep.

A module of its own (the clearing test is in test_growth.py) so that `make test`'s
xdist workers run the two million-row deletes side by side; each module fills its
own copy of the million rows (bench/fill.py).
"""

import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from tests.reliability.conftest import private_stack
from tests.reliability.million import (
    FINISHED,
    MILLION,
    add_active_tasks,
    add_task,
    fill_million,
    status_counts,
)
from tests.reliability.progress_writer import ProgressWriter

# Minutes: `make test` starts this module first, beside the rest of the suite.
pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def filled(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_million(migrated, tmp_path_factory.mktemp("million"))


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
                "last_seen) VALUES ('killed@host', '', 2, ?, ?), ('live@host', '', 2, ?, ?)",
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
