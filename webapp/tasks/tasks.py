"""The Celery side: the task that runs a kind of work, and launching or cancelling it.

The task's body keeps its record up to date while it runs. Where Celery ends a run
outside the body (a hard time limit, a terminate from Flower, a pool process that
died, a worker stopping), the worker's main process tells the record why, through
TaskRequest and the task_failure / task_revoked receivers below: no record is left
STARTED.
"""

import logging
import traceback
from datetime import datetime, timedelta
from typing import Any

from billiard.einfo import ExceptionWithTraceback  # type: ignore[attr-defined]
from billiard.exceptions import WorkerLostError
from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, task_revoked
from celery.worker.request import Request
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from webapp.celery import app
from webapp.tasks.catalogue import bodies
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import AuditEntry, Schedule, Status, TaskRecord
from webapp.tasks.running import workers  # also registers the heartbeat receivers
from webapp.tasks.running.publishing import BrokerUnavailable, publish

__all__ = ["BrokerUnavailable", "cancel", "launch", "run_task"]

logger = logging.getLogger(__name__)

# Retries of a transient failure wait RETRY_BACKOFF_SECONDS * 2**attempt (scaled).
MAX_RETRIES = 3
RETRY_BACKOFF_SECONDS = bodies.RETRY_BACKOFF_SECONDS


class TaskRequest(Request):
    """One delivery of the task, as the worker's main process handles it."""

    def on_failure(
        self, exc_info: Any, send_failed_event: bool = True, return_ok: bool = False
    ) -> None:
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):
            exc = exc.exc
        # The pool process running the task died (killed, out of memory): Celery
        # puts the message back (acks_late + reject_on_worker_lost). The record goes
        # back first, so that the redelivered message finds it startable.
        process_lost = isinstance(exc, WorkerLostError | SystemExit | KeyboardInterrupt)
        stopped_on_purpose = self._already_cancelled or self._already_revoked  # type: ignore[attr-defined]
        if process_lost and not stopped_on_purpose:
            TaskRecord.give_back(
                self.id,
                f"its process on {self.hostname} was lost",
                only_if={"worker_instance": workers.INSTANCE},
            )
        super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)

    def cancel(self, pool: Any, signal: Any = None, emit_retry: bool = True) -> None:
        # Celery cancels the runs a stopping worker could not finish in time; their
        # messages, unacknowledged, go back to Redis as the worker disconnects.
        if self.time_start and not self.acknowledged:
            TaskRecord.give_back(
                self.id,
                f"interrupted by a stop of worker {self.hostname}",
                only_if={"worker_instance": workers.INSTANCE},
            )
        super().cancel(pool, signal=signal, emit_retry=emit_retry)


class DashboardTask(Task):  # type: ignore[type-arg]
    Request = "webapp.tasks.tasks:TaskRequest"


@shared_task(
    bind=True, base=DashboardTask, name="tasks.run", ignore_result=True, max_retries=MAX_RETRIES
)
def run_task(self: Task[Any, Any], kind: int) -> Any:
    """Run one task of `kind`, keeping its record up to date as it goes."""
    task_id = str(self.request.id)
    worker = self.request.hostname or ""
    attempt = self.request.retries
    params = TaskRecord.params_of(task_id)

    def body() -> Any:
        return bodies.run(
            Kind(kind),
            scale=settings.TASK_TIME_SCALE,
            report=lambda percent: TaskRecord.report_progress(task_id, percent),
            attempt=attempt,
            params=params,
            task_id=task_id,
        )

    try:
        if bodies.returns_at_once(Kind(kind), settings.TASK_TIME_SCALE, params):
            # Start and finish share one commit (see TaskRecord.run_at_once).
            started, result = TaskRecord.run_at_once(task_id, worker, workers.INSTANCE, body)
            if not started:
                logger.info("skipping task %s: it is no longer waiting to run", task_id)
            return result
        if not TaskRecord.mark_started(task_id, worker=worker, instance=workers.INSTANCE):
            # Cancelled or deleted before a worker got to it, finished, or running
            # already: a second copy of its message (redelivered by Redis, or sent
            # again by running/workers.py or running/publishing.py). Do none of the work.
            logger.info("skipping task %s: it is no longer waiting to run", task_id)
            return None
        result = body()
    except bodies.TransientError as exc:
        error = f"{type(exc).__name__}: {exc}"
        if attempt >= MAX_RETRIES:
            TaskRecord.mark_failed(task_id, f"{error} (gave up after {attempt + 1} tries)")
            raise
        countdown = RETRY_BACKOFF_SECONDS * settings.TASK_TIME_SCALE * 2**attempt
        TaskRecord.mark_retrying(
            task_id, error, retry_at=timezone.now() + timedelta(seconds=countdown)
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
    except Exception as exc:
        TaskRecord.mark_failed(task_id, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        raise
    TaskRecord.mark_succeeded(task_id, result)
    return result


def launch(
    kind: Kind,
    retry_of: TaskRecord | None = None,
    owner: Any = None,
    params: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    schedule: Schedule | None = None,
    audit: AuditEntry | None = None,
) -> TaskRecord:
    """Record a new task as PENDING, with its complete `params`, and queue it; with
    `run_at`, record it SCHEDULED for scheduling.publish_due to queue when due.

    The record (and `audit`, the launch's entry) is committed before the message is
    sent, so the worker always finds it. If the broker cannot take the message, both
    are removed again and BrokerUnavailable raised: no task is listed that will never
    run, no launch is audited that did not happen. (A process that dies in between
    leaves a PENDING row: publishing.requeue_orphans sends it.)
    """
    record = TaskRecord.submit(
        kind,
        retry_of=retry_of,
        owner=owner,
        params=params,
        run_at=run_at,
        schedule=schedule,
        audit=audit,
    )
    if run_at is not None:
        return record
    try:
        publish(str(record.task_id), int(kind))
    except BrokerUnavailable as exc:
        logger.warning("could not queue task %s: %s", record.task_id, exc)
        with transaction.atomic():
            record.delete()
            if audit is not None:
                AuditEntry.objects.filter(pk=audit.pk).delete()
        raise
    return record


def cancelling_marker(task_id: str) -> str:
    return f"cancelling:{task_id}"


def cancel(record: TaskRecord) -> bool:
    """Stop a task: revoked before it starts, or its process terminated if running.

    Workers are told first, so a broker that can't be reached leaves the record as
    it was (and the caller says so) rather than showing REVOKED for a task that
    still runs. Returns False if the task finished in the meantime.
    """
    task_id = str(record.task_id)
    if record.status == Status.SCHEDULED:
        # Nothing was sent anywhere: the record is all there is. If it was published
        # just now, it is cancelled as a pending task below.
        due = record.run_at.isoformat(timespec="milliseconds") if record.run_at else "?"
        note = f"cancelled before its time (it was due at {due})"
        if TaskRecord.mark_cancelled(task_id, note=note, allowed=(Status.SCHEDULED,)):
            return True
    was_running = record.status not in (Status.PENDING, Status.SCHEDULED)
    try:
        # Tells the worker's task_revoked receiver that the dashboard writes the
        # record itself, with its own note.
        cache.set(cancelling_marker(str(record.task_id)), 1, timeout=60)
    except RedisError:
        logger.warning("could not mark task %s as cancelled here", record.task_id)
    try:
        # terminate=True also covers a task that starts between our read and now.
        app.control.revoke(str(record.task_id), terminate=True, signal="SIGTERM")
    except OperationalError as exc:
        raise BrokerUnavailable(str(exc)) from exc
    note = "cancelled while running" if was_running else "cancelled before it started"
    return TaskRecord.mark_cancelled(str(record.task_id), note=note)


@task_failure.connect
def record_failure(sender: Any, task_id: str, exception: BaseException, **kwargs: Any) -> None:
    """A run ended by Celery rather than by the body, e.g. at the hard time limit.

    Also sent for an exception the body raised, which the body has recorded
    already: then this conditional update changes nothing."""
    if getattr(sender, "name", None) != run_task.name:
        return
    if isinstance(exception, TimeLimitExceeded):
        error = (
            f"Stopped at the hard time limit of {settings.TASK_TIME_LIMIT} s "
            "(TASK_TIME_LIMIT): its process was killed."
        )
    else:
        error = f"{type(exception).__name__}: {exception}"
    TaskRecord.mark_failed(task_id, error)


@task_revoked.connect
def record_revoked(sender: Any, request: Any, terminated: bool, signum: Any, **kwargs: Any) -> None:
    """A revoke that did not come from the dashboard's cancel: Flower's, or
    `celery control revoke [--terminate]`."""
    if getattr(sender, "name", None) != run_task.name:
        return
    task_id = str(request.id)
    try:
        if cache.get(cancelling_marker(task_id)):
            return
    except RedisError:
        logger.warning("could not tell who revoked task %s", task_id)
    if terminated:
        note = f"terminated outside the dashboard (signal {signum}), e.g. from Flower"
    else:
        note = "revoked outside the dashboard before it started, e.g. from Flower"
    TaskRecord.mark_cancelled(task_id, note=note)
