"""Bulk actions: cancel, retry or delete many tasks, in short batches in the background.

A job (`BulkJob`) names its selection, the task ids ticked or a table filter, and the
owner scope of whoever asked: every batch reads its tasks through `tasks_of(scope)`,
so nobody acts on a task they cannot see. A filter is walked by keyset (record ids
above the cursor, up to the newest match when the job was confirmed), BATCH_SIZE
rows at a time, never all ids at once; each batch's changes and the job's counts
commit in one short transaction, so a worker's own state write waits for one batch
at most, and memory does not grow with the selection.

The batches run in a Celery task on the default queue (`tasks.bulk_act`) rather
than in the scheduler: that process must publish due tasks on time, and a worker
is where work waits its turn. A run works for SLICE_SECONDS, then queues the rest
of the job behind whatever else waits, so a 100 000-task job never holds a pool
process for long; the cursor lives in the job, so a run that dies is taken up
where it stopped when its message is delivered again.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from webapp.celery import app
from webapp.tasks.access.scope import tasks_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import (
    ACTIVE_STATUSES,
    BULK_TASK,
    CANCELLABLE_STATUSES,
    FINISHED_STATUSES,
    RETRYABLE_STATUSES,
    BulkJob,
    Status,
    TaskRecord,
)
from webapp.tasks.running.publishing import BrokerUnavailable
from webapp.tasks.running.retention import delete_finished
from webapp.tasks.table.query import TableQuery
from webapp.tasks.tasks import cancelling_marker, launch

logger = logging.getLogger(__name__)

# Tasks per transaction: tens of milliseconds on SQLite, as retention's batches.
BATCH_SIZE = 200
# Between batches the job steps aside at least this long (and as long as the batch
# took), so that a worker waiting for SQLite's lock gets it (see running/retention.py).
PAUSE_SECONDS = 0.025
# One Celery run works this long, then queues the rest of the job behind other work.
SLICE_SECONDS = 2.0
# Ids one request may list (a page has at most 100 rows); more go by a filter.
MAX_IDS = 250
# The filter parameters a selection takes: the table's, but for sorting and paging.
FILTER_FIELDS = ("status", "kind", "q")

# Why a selected task was left alone, as the summary says it.
NOT_FOUND = "not found"  # no such task, or one this user cannot see: the same to them
ALREADY_FINISHED = "already finished"
STILL_ACTIVE = "still queued or running"
SUCCEEDED = "succeeded"
ELSEWHERE = "published outside the dashboard"
ALREADY_RETRIED = "already retried"


# --- What a request selects ----------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """An action on the tasks given by id, or on those a filter matches."""

    action: str
    ids: tuple[str, ...] | None = None
    filter: str = ""  # the filter's query string, when ids is None

    def query(self, scope: int | None) -> TableQuery:
        return TableQuery.from_params(QueryDict(self.filter), owner=scope)


# --- A job ---------------------------------------------------------------------------


def candidates(selection: Selection, scope: int | None) -> QuerySet[TaskRecord]:
    """The selected tasks this owner scope covers (with the ids, at most MAX_IDS)."""
    if selection.ids is not None:
        return tasks_of(scope).filter(task_id__in=selection.ids)
    return selection.query(scope).filtered()


def count_selected(selection: Selection, scope: int | None) -> int:
    """How many tasks the confirmation names: one COUNT along the filter's index."""
    return candidates(selection, scope).order_by().count()


def start(selection: Selection, scope: int | None, user: Any) -> BulkJob:
    """Record the job (the selection fixed as of now) and queue its first run.
    Raises BrokerUnavailable, having removed the job, if the queue can't take it."""
    job = BulkJob(user=user, scope=scope, action=selection.action)
    if selection.ids is not None:
        job.ids = list(selection.ids)
        job.total = len(selection.ids)
    else:
        job.filter = selection.filter
        matching = candidates(selection, scope)
        job.last_id = matching.order_by("-id").values_list("id", flat=True).first() or 0
        job.total = matching.filter(id__lte=job.last_id).order_by().count()
    job.save()
    try:
        queue_run(job.pk)
    except BrokerUnavailable:
        job.delete()
        raise
    return job


def queue_run(job_id: int) -> None:
    try:
        bulk_act.apply_async((job_id,), retry=False)
    except (OperationalError, RedisError, OSError) as exc:
        raise BrokerUnavailable(str(exc)) from exc


@shared_task(name=BULK_TASK, ignore_result=True)
def bulk_act(job_id: int) -> None:
    run(job_id)


def run(job_id: int, slice_seconds: float | None = SLICE_SECONDS) -> BulkJob | None:
    """Work on the job for `slice_seconds` (None: to the end), then queue the rest;
    if the queue can't take it, carry on here. Returns the job as it was left."""
    job = BulkJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or job.finished:
        return job
    if job.state == BulkJob.State.QUEUED:
        job.state = BulkJob.State.RUNNING
        BulkJob.objects.filter(pk=job.pk).update(state=job.state, updated_at=timezone.now())
    started = time.monotonic()
    try:
        while True:
            batch_started = time.monotonic()
            if not run_batch(job):
                return job
            if slice_seconds is not None and time.monotonic() - started >= slice_seconds:
                try:
                    queue_run(job.pk)
                    return job
                except BrokerUnavailable:
                    logger.warning("bulk job %s carries on in this run: queue unreachable", job.pk)
                    slice_seconds = None
            time.sleep(max(PAUSE_SECONDS, time.monotonic() - batch_started))
    except Exception as exc:
        logger.exception("bulk job %s stopped", job.pk)
        BulkJob.objects.filter(pk=job.pk).update(
            state=BulkJob.State.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:500],
            updated_at=timezone.now(),
            finished_at=timezone.now(),
        )
        raise


FIELDS = ("id", "task_id", "status", "kind", "started_at")


def next_batch(job: BulkJob) -> tuple[list[tuple[Any, ...]], int, int]:
    """The next batch's rows (FIELDS), where the cursor goes after it, and how many
    selected ids were not found among the visible tasks."""
    if job.ids is not None:
        ids = job.ids[job.cursor : job.cursor + BATCH_SIZE]
        rows = list(tasks_of(job.scope).filter(task_id__in=ids).values_list(*FIELDS))
        return rows, job.cursor + len(ids), len(ids) - len(rows)
    selection = Selection(job.action, filter=job.filter)
    tasks = selection.query(job.scope).filtered().filter(id__gt=job.cursor, id__lte=job.last_id)
    rows = list(tasks.order_by("id").values_list(*FIELDS)[:BATCH_SIZE])
    return rows, rows[-1][0] if rows else job.cursor, 0


def run_batch(job: BulkJob) -> bool:
    """Act on the next batch and record it; False once nothing is left (the job done)."""
    rows, cursor, missing = next_batch(job)
    skipped: dict[str, int] = {NOT_FOUND: missing} if missing else {}
    if not rows and not missing:
        finish(job)
        return False
    act = {
        BulkJob.Action.CANCEL: cancel_rows,
        BulkJob.Action.RETRY: retry_rows,
        BulkJob.Action.DELETE: delete_rows,
    }[BulkJob.Action(job.action)]
    act(job, rows, cursor, skipped)
    return True


def record_progress(job: BulkJob, cursor: int, done: int, skipped: dict[str, int]) -> None:
    job.cursor = cursor
    job.done += done
    job.skipped += sum(skipped.values())
    for reason, count in skipped.items():
        if count:
            job.reasons[reason] = job.reasons.get(reason, 0) + count
    BulkJob.objects.filter(pk=job.pk).update(
        cursor=job.cursor,
        done=job.done,
        skipped=job.skipped,
        reasons=job.reasons,
        updated_at=timezone.now(),
    )


def finish(job: BulkJob) -> None:
    job.state = BulkJob.State.DONE
    job.finished_at = timezone.now()
    BulkJob.objects.filter(pk=job.pk).update(
        state=job.state, finished_at=job.finished_at, updated_at=job.finished_at
    )


def skip(skipped: dict[str, int], reason: str) -> None:
    skipped[reason] = skipped.get(reason, 0) + 1


Rows = list[tuple[Any, ...]]


def cancel_rows(job: BulkJob, rows: Rows, cursor: int, skipped: dict[str, int]) -> None:
    """Cancel what can be: as tasks.cancel does for one, with one revoke for the batch
    (terminate, which also stops a task that starts between this read and the update)."""
    cancellable = [row for row in rows if row[2] in CANCELLABLE_STATUSES]
    for _ in range(len(rows) - len(cancellable)):
        skip(skipped, ALREADY_FINISHED)
    sent = [str(row[1]) for row in cancellable if row[2] != Status.SCHEDULED]
    if sent:
        try:
            # Tells the worker's task_revoked receiver that the record is written here.
            cache.set_many({cancelling_marker(task_id): 1 for task_id in sent}, timeout=60)
        except RedisError:
            logger.warning("bulk job %s: could not mark its cancellations", job.pk)
        # Outside the transaction: the database is not held while Redis answers.
        app.control.revoke(sent, terminate=True, signal="SIGTERM")
    with transaction.atomic():
        ids = [str(row[1]) for row in cancellable]
        done = TaskRecord.mark_cancelled_many(ids, note=f"cancelled by bulk action {job.pk}")
        for _ in range(len(cancellable) - done):
            skip(skipped, ALREADY_FINISHED)  # it finished between the read and the update
        record_progress(job, cursor, done, skipped)


def retry_rows(job: BulkJob, rows: Rows, cursor: int, skipped: dict[str, int]) -> None:
    """Retry the failed and cancelled ones as new tasks of the job's user, as one retry
    does; a task this job retried already (a run taken up again) is not retried twice."""
    retried_here = set(
        TaskRecord.objects.filter(
            retry_of__in=[row[0] for row in rows],
            id__gt=job.last_id,
            submitted_at__gte=job.created_at,
        ).values_list("retry_of", flat=True)
    )
    todo = []
    for pk, _, status, kind, _ in rows:
        if kind is None:
            skip(skipped, ELSEWHERE)
        elif status in ACTIVE_STATUSES or status == Status.SCHEDULED:
            skip(skipped, STILL_ACTIVE)
        elif status not in RETRYABLE_STATUSES:
            skip(skipped, SUCCEEDED)
        elif pk in retried_here:
            skip(skipped, ALREADY_RETRIED)
        else:
            todo.append(pk)
    records = TaskRecord.objects.filter(pk__in=todo).only("id", "task_id", "kind", "params")
    done = 0
    for record in records:
        # Each commits before its message is sent (launch), so not inside a batch's
        # transaction: the worker must find the record.
        launch(Kind(int(record.kind or 0)), retry_of=record, owner=job.user, params=record.params)
        done += 1
    record_progress(job, cursor, done, skipped)


def delete_rows(job: BulkJob, rows: Rows, cursor: int, skipped: dict[str, int]) -> None:
    """Delete the finished ones, as retention and "Clear finished tasks" delete."""
    finished = [row[0] for row in rows if row[2] in FINISHED_STATUSES]
    for _ in range(len(rows) - len(finished)):
        skip(skipped, STILL_ACTIVE)
    with transaction.atomic():
        deleted = 0
        if finished:
            tasks = tasks_of(job.scope).filter(id__in=finished)
            deleted = delete_finished(tasks, timezone.now(), batch_size=len(finished) + 1).deleted
        for _ in range(len(finished) - deleted):
            skip(skipped, NOT_FOUND)  # deleted by someone else meanwhile
        record_progress(job, cursor, deleted, skipped)
