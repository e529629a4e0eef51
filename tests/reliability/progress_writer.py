"""A stand-in for a busy worker: another process that writes a task's progress every
50 ms, as run_task does at every step, timing how long each write waits for SQLite's
lock and noting any it is refused."""

import multiprocessing
import sqlite3
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from types import TracebackType
from typing import Any

INTERVAL = 0.05


@dataclass
class Writes:
    count: int
    longest_wait: float  # from BEGIN to the end of COMMIT
    longest_lock_wait: float  # for BEGIN IMMEDIATE alone: waiting for the write lock
    refused: list[str]


def _write_progress(database: str, row_id: int, stop: Event, results: Any) -> None:
    # What Django's SQLite settings give a worker: a 20 s busy timeout and IMMEDIATE
    # transactions.
    db = sqlite3.connect(database, timeout=20, isolation_level=None)
    count, longest, longest_lock, refused = 0, 0.0, 0.0, []
    percent = 0
    while not stop.is_set():
        percent = (percent + 1) % 100
        began = time.monotonic()
        try:
            db.execute("BEGIN IMMEDIATE")
            longest_lock = max(longest_lock, time.monotonic() - began)
            db.execute(
                "UPDATE tasks_taskrecord SET progress = ?, updated_at = datetime('now') "
                "WHERE id = ?",
                (percent, row_id),
            )
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            refused.append(str(exc))
            if db.in_transaction:
                db.execute("ROLLBACK")
        longest = max(longest, time.monotonic() - began)
        count += 1
        stop.wait(INTERVAL)
    db.close()
    results.put((count, longest, longest_lock, refused))


class ProgressWriter:
    """`with ProgressWriter(db, row_id) as writer:` … then `writer.writes`."""

    def __init__(self, database: Path, row_id: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.results = context.Queue()
        self.process = context.Process(
            target=_write_progress,
            args=(str(database), row_id, self.stop, self.results),
            daemon=True,
        )
        self.writes = Writes(0, 0.0, 0.0, [])

    def __enter__(self) -> "ProgressWriter":
        self.process.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop.set()
        count, longest, longest_lock, refused = self.results.get(timeout=30)
        self.process.join(10)
        self.writes = Writes(count, longest, longest_lock, refused)
