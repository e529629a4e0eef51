"""Every task seen: tasks published by anything but the dashboard's own launch (a
`.delay()` elsewhere in the app, beat, `celery call` from a shell, Flower's API) get
a record too, with their Celery task name and arguments, and no kind and no owner.

Celery's signals keep those records, through the TaskRecord methods that keep ours:

- before_task_publish, in a process of ours that publishes (the web, beat, a worker
  calling `.delay()`): the record is written before the message leaves;
- task_received, in the worker's main process, for a message nothing of ours
  published (`celery call`, Flower, another program): the record is written when a
  worker takes the message, so a task published while no worker runs is seen only
  once one receives it;
- task_prerun, task_success, task_failure, task_retry and task_revoked, on the
  worker: its start, result, error and traceback, retries, and cancellation.

The dashboard's own task (tasks.run) has its record already and keeps it itself
(tasks.py): it is skipped by name here, and `TaskRecord.seen` never adds a second
record for a task id that has one. Celery's own plumbing (`celery.*` tasks: chord
unlocking, result cleanup) is not listed.
"""

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from celery.signals import (
    before_task_publish,
    task_failure,
    task_prerun,
    task_received,
    task_retry,
    task_revoked,
    task_success,
)
from django.apps import apps
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone
from redis.exceptions import RedisError

from webapp.tasks.models import DASHBOARD_TASK, TaskRecord
from webapp.tasks.running import workers
from webapp.tasks.running.schedules import LAUNCHER
from webapp.tasks.tasks import cancelling_marker

logger = logging.getLogger(__name__)


# Our own Celery tasks that are plumbing, not work: the dashboard's runner (its runs
# have records already) and the message beat sends for a periodic schedule (the run
# it launches has its record, linked to the schedule).
OURS = frozenset({DASHBOARD_TASK, LAUNCHER})


def is_foreign(name: str | None) -> bool:
    return bool(name) and name not in OURS and not str(name).startswith("celery.")


def as_json(value: Any) -> Any:
    """What the JSON columns can hold: the value itself when it is JSON (the broker's
    serializer is JSON), its repr for anything else, so nothing is dropped."""
    return json.loads(json.dumps(value, default=repr))


def remember(task_id: str, name: str, args: Any, kwargs: Any, note: str) -> None:
    try:
        TaskRecord.seen(task_id, name, as_json(list(args or [])), as_json(dict(kwargs or {})), note)
    except DatabaseError:
        # Never stop a publish or a delivery over the listing: the worker's own
        # signals try again, and the record is only a view of the task.
        logger.exception("could not record task %s (%s)", task_id, name)


@before_task_publish.connect
def record_published(
    sender: str | None = None,
    body: Any = None,
    headers: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    # A process that loads the Celery app without Django's (a bare `celery call`)
    # has no database to write to: the worker that receives the message records it.
    if not is_foreign(sender) or not apps.ready or not headers:
        return
    # Message protocol 2 (Celery's default): the body is (args, kwargs, embed).
    args, kw = (body[0], body[1]) if isinstance(body, list | tuple) and len(body) == 3 else ((), {})
    remember(str(headers["id"]), str(sender), args, kw, "published outside the dashboard")


@task_received.connect
def record_received(request: Any = None, **kwargs: Any) -> None:
    if request is None or not is_foreign(request.name):
        return
    remember(
        str(request.id),
        request.name,
        request.args,
        request.kwargs,
        f"published outside the dashboard; received by {request.hostname}",
    )


def _foreign(sender: Any) -> bool:
    return isinstance(sender, Task) and is_foreign(sender.name)


@task_prerun.connect
def record_started(sender: Any = None, task_id: str = "", **kwargs: Any) -> None:
    if _foreign(sender):
        TaskRecord.mark_started(
            task_id, worker=sender.request.hostname or "", instance=workers.INSTANCE
        )


@task_success.connect
def record_succeeded(sender: Any = None, result: Any = None, **kwargs: Any) -> None:
    if _foreign(sender):
        TaskRecord.mark_succeeded(str(sender.request.id), as_json(result))


@task_failure.connect
def record_failed(
    sender: Any = None,
    task_id: str = "",
    exception: BaseException | None = None,
    einfo: Any = None,
    **kwargs: Any,
) -> None:
    if _foreign(sender):
        error = f"{type(exception).__name__}: {exception}"
        TaskRecord.mark_failed(task_id, error, str(einfo.traceback) if einfo else "")


@task_retry.connect
def record_retrying(sender: Any = None, request: Any = None, reason: Any = None, **kw: Any) -> None:
    if not _foreign(sender) or request is None:
        return
    when = getattr(reason, "when", None)
    if isinstance(when, datetime):
        retry_at = when
    else:
        retry_at = timezone.now() + timedelta(seconds=float(when or 0))
    exc = getattr(reason, "exc", None)
    error = f"{type(exc).__name__}: {exc}" if exc is not None else str(reason)
    TaskRecord.mark_retrying(str(request.id), error, retry_at)


@task_revoked.connect
def record_revoked(
    sender: Any = None, request: Any = None, terminated: bool = False, **kwargs: Any
) -> None:
    if not _foreign(sender) or request is None:
        return
    task_id = str(request.id)
    try:
        if cache.get(cancelling_marker(task_id)):
            return  # the dashboard's cancel, which writes the record itself
    except RedisError:
        logger.warning("could not tell who revoked task %s", task_id)
    how = "terminated" if terminated else "revoked before it started"
    TaskRecord.mark_cancelled(task_id, note=f"{how} outside the dashboard")
