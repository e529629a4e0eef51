"""Bounding the history: deleting finished tasks in short batches, and the retention job.

Both "Clear finished tasks" and the periodic retention job go through
`delete_finished`. It never loads model instances (QuerySet.delete() would fetch
every row, results and tracebacks, to run the cascades in Python): each batch reads
at most BATCH_SIZE ids, deletes their timeline events, unlinks the retries that
point at them and deletes the records, in one short transaction of its own. On
SQLite a worker's state write therefore waits for one batch at most, never for the
whole deletion. The StatusCount triggers (migration 0002) and the rollup triggers
(0010) fire per deleted row, so the counters and charts stay exact. The files of
deleted CSV exports are removed after each batch commits.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from webapp.tasks.catalogue import exports
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import FINISHED_STATUSES, TaskEvent, TaskRecord, WorkerStatus

logger = logging.getLogger(__name__)

# Rows per transaction: a batch takes tens of milliseconds, which is about all a
# worker's progress report may have to wait.
BATCH_SIZE = 1000
# A worker waiting on SQLite's lock retries on its own schedule (sleeps growing to
# 100 ms), so between batches the deleter steps aside, for at least as long as the
# batch took: it holds the lock at most half the time, and a waiting writer's next
# try finds it free rather than losing every race to the next batch.
PAUSE_SECONDS = 0.025
# WorkerStatus rows of workers that stopped reporting this long ago (killed, or
# scaled down) are dropped; a live worker writes its row every 2 s.
STALE_WORKER_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Deletion:
    deleted: int
    remaining: int

    @property
    def done(self) -> bool:
        return self.remaining == 0


def finished_before(tasks: QuerySet[TaskRecord], moment: datetime) -> QuerySet[TaskRecord]:
    """The finished tasks among `tasks` that finished before `moment`: a fixed set,
    since a finished task never changes status again and a task that finishes
    later has a later time."""
    return tasks.filter(status__in=FINISHED_STATUSES, finished_at__lt=moment).order_by()


def delete_finished(
    tasks: QuerySet[TaskRecord],
    moment: datetime,
    budget_seconds: float | None = None,
    batch_size: int | None = None,
) -> Deletion:
    """Delete the tasks of `finished_before(tasks, moment)` and their events, batch by
    batch, stopping once `budget_seconds` have passed (None: until none is left)."""
    selection = finished_before(tasks, moment)
    batch_size = batch_size or BATCH_SIZE
    started = time.monotonic()
    deleted = 0
    while True:
        batch_started = time.monotonic()
        count = _delete_batch(selection, batch_size)
        deleted += count
        if count < batch_size:
            return Deletion(deleted, 0)
        if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
            return Deletion(deleted, selection.count())
        time.sleep(max(PAUSE_SECONDS, time.monotonic() - batch_started))


def _delete_batch(selection: QuerySet[TaskRecord], batch_size: int) -> int:
    with transaction.atomic():
        rows = list(selection.values_list("id", "kind", "task_id")[:batch_size])
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        # Events have no dependants and no delete signals: Django deletes them with
        # one DELETE, without fetching them.
        TaskEvent.objects.filter(task_id__in=ids).delete()
        # What on_delete=SET_NULL would do, without loading the records. The range
        # keeps SQLite on the retry_of index: after ANALYZE its statistics count the
        # NULLs of a history without retries as one value shared by every row, and
        # the planner would scan the whole table for an IN list alone.
        TaskRecord.objects.filter(
            retry_of__gte=min(ids), retry_of__lte=max(ids), retry_of__in=ids
        ).update(retry_of=None)
        # The records' own DELETE, without the collector that would fetch them first;
        # their events and referring retries are handled just above.
        deleted = TaskRecord.objects.filter(id__in=ids)._raw_delete(selection.db)
    # Once the records are gone for good: a rolled-back batch keeps its files.
    exports.remove_files(task_id for _, kind, task_id in rows if kind == Kind.EXPORT)
    return deleted


@dataclass(frozen=True)
class RetentionReport:
    tasks: int
    workers: int

    def __str__(self) -> str:
        return (
            f"deleted {self.tasks} finished tasks older than the retention period "
            f"and {self.workers} stale worker rows; cleared expired sessions"
        )


def apply_retention(now: datetime | None = None) -> RetentionReport:
    """Delete what the retention policy no longer keeps: finished tasks older than
    TASK_RETENTION_DAYS (when set), worker rows not seen for a day, expired sessions."""
    now = now or timezone.now()
    tasks = 0
    if settings.TASK_RETENTION_DAYS:
        cutoff = now - timedelta(days=settings.TASK_RETENTION_DAYS)
        tasks = delete_finished(TaskRecord.objects.all(), cutoff).deleted
    workers, _ = WorkerStatus.objects.filter(last_seen__lt=now - STALE_WORKER_AFTER).delete()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return RetentionReport(tasks=tasks, workers=workers)


@shared_task(name="tasks.apply_retention", ignore_result=True)
def apply_retention_task() -> None:
    logger.info("retention: %s", apply_retention())
