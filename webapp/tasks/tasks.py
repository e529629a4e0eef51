"""The Celery side: the task that runs a kind of work, and launching or cancelling it."""

import logging
import traceback
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from webapp.celery import app
from webapp.tasks import (
    work,
    workers,  # also registers the heartbeat receivers
)
from webapp.tasks.kinds import Kind
from webapp.tasks.models import TaskRecord

logger = logging.getLogger(__name__)

# Retries of a transient failure wait RETRY_BACKOFF_SECONDS * 2**attempt (scaled).
MAX_RETRIES = 3
RETRY_BACKOFF_SECONDS = 2.0


class BrokerUnavailable(Exception):
    """The broker did not answer, so nothing was queued or signalled."""


@shared_task(bind=True, name="tasks.run", ignore_result=True, max_retries=MAX_RETRIES)
def run_task(self: Task[Any, Any], kind: int) -> Any:
    """Run one task of `kind`, keeping its record up to date as it goes."""
    task_id = str(self.request.id)
    if not TaskRecord.mark_started(
        task_id, worker=self.request.hostname or "", instance=workers.INSTANCE
    ):
        # Cancelled or deleted before a worker got to it, or a redelivery of a task
        # already failed as lost (workers.py): do none of the work.
        logger.info("skipping task %s: it is no longer waiting to run", task_id)
        return None
    attempt = self.request.retries
    try:
        result = work.run(
            Kind(kind),
            scale=settings.TASK_TIME_SCALE,
            report=lambda percent: TaskRecord.report_progress(task_id, percent),
            attempt=attempt,
        )
    except work.TransientError as exc:
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


def launch(kind: Kind, retry_of: TaskRecord | None = None, owner: Any = None) -> TaskRecord:
    """Record a new task as PENDING and queue it.

    The record is committed before the message is sent, so the worker always finds
    it. If the broker cannot take the message, the record is removed again and
    BrokerUnavailable raised: no task is listed that will never run.
    """
    record = TaskRecord.submit(kind, retry_of=retry_of, owner=owner)
    try:
        run_task.apply_async(args=(int(kind),), task_id=str(record.task_id))
    except OperationalError as exc:
        logger.warning("could not queue task %s: %s", record.task_id, exc)
        record.delete()
        raise BrokerUnavailable(str(exc)) from exc
    return record


def cancel(record: TaskRecord) -> bool:
    """Stop a task: revoked before it starts, or its process terminated if running.

    Workers are told first, so a broker that can't be reached leaves the record as
    it was (and the caller says so) rather than showing REVOKED for a task that
    still runs. Returns False if the task finished in the meantime.
    """
    was_running = record.status != "PENDING"
    try:
        # terminate=True also covers a task that starts between our read and now.
        app.control.revoke(str(record.task_id), terminate=True, signal="SIGTERM")
    except OperationalError as exc:
        raise BrokerUnavailable(str(exc)) from exc
    note = "cancelled while running" if was_running else "cancelled before it started"
    return TaskRecord.mark_cancelled(str(record.task_id), note=note)
