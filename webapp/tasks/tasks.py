"""The Celery side: the task that runs a kind of work, and launching it."""

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from kombu.exceptions import OperationalError

from webapp.tasks import work
from webapp.tasks.kinds import Kind
from webapp.tasks.models import TaskRecord

logger = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The task could not be queued because the broker did not answer."""


@shared_task(bind=True, name="tasks.run", ignore_result=True)
def run_task(self: Task[Any, Any], kind: int) -> dict[str, Any]:
    """Run one task of `kind`, keeping its record up to date as it goes."""
    task_id = str(self.request.id)
    TaskRecord.mark_started(task_id, worker=self.request.hostname or "")
    try:
        result = work.run(
            Kind(kind),
            scale=settings.TASK_TIME_SCALE,
            report=lambda percent: TaskRecord.report_progress(task_id, percent),
        )
    except Exception as exc:
        TaskRecord.mark_failed(task_id, f"{type(exc).__name__}: {exc}")
        raise
    TaskRecord.mark_succeeded(task_id, result)
    return result


def launch(kind: Kind) -> TaskRecord:
    """Record a new task as PENDING and queue it.

    The record is committed before the message is sent, so the worker always finds
    it. If the broker cannot take the message, the record is removed again and
    BrokerUnavailable raised: no task is listed that will never run.
    """
    record = TaskRecord.objects.create(kind=kind)
    try:
        run_task.apply_async(args=(int(kind),), task_id=str(record.task_id))
    except OperationalError as exc:
        logger.warning("could not queue task %s: %s", record.task_id, exc)
        record.delete()
        raise BrokerUnavailable(str(exc)) from exc
    return record
