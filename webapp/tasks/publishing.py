"""Putting a task's message in Redis, and finding the tasks whose message never got there.

A task is committed as PENDING first and published second (the worker must find its
record). A process that dies in between, or a publish that fails after the record
was kept, leaves a row that would never run. So every successful publish leaves a
marker in the cache (Redis), and a sweep, run on worker heartbeats by one worker at
a time, queues again the PENDING rows past ORPHAN_AFTER_SECONDS without one.

A message published twice is harmless: TaskRecord.mark_started lets only the first
copy start, and the other is skipped. So the sweep may err on the side of sending.

The sweep stays cheap however long the queue: it remembers the highest id it has
checked and reads only newer rows, along the primary key, at most SWEEP_BATCH at a
time. A row, once checked, never needs checking again: a task that goes back to
PENDING later (its worker lost) is published again by whoever moved it.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from webapp.celery import app
from webapp.tasks.kinds import Kind
from webapp.tasks.models import Status, TaskRecord

logger = logging.getLogger(__name__)

TASK_NAME = "tasks.run"
# Long enough for the sweep to have checked the row (it runs every few seconds).
MARKER_SECONDS = 24 * 3600
SWEEP_EVERY_SECONDS = 10
SWEEP_BATCH = 1000
SWEEP_LOCK = "orphan-sweep:lock"
SWEEP_CHECKED_UP_TO = "orphan-sweep:checked-up-to"


class BrokerUnavailable(Exception):
    """The broker did not answer, so nothing was queued or signalled."""


def marker(task_id: str) -> str:
    return f"published:{task_id}"


def publish(task_id: str, kind: int, retries: int = 0) -> None:
    """Send the message that runs task `task_id`; BrokerUnavailable if Redis won't take it.

    `retries` is the number of earlier tries (the flaky kind's body reads it). The
    message goes to the kind's queue, whoever sends it: a launch, the orphan sweep
    below, or a worker queueing a lost task again (workers.py)."""
    try:
        # No result to wait for: the record is the result (and subscribing to one would
        # be a second Redis connection to fail).
        app.send_task(
            TASK_NAME,
            args=(int(kind),),
            task_id=task_id,
            retries=retries,
            ignore_result=True,
            queue=Kind(kind).queue,
        )
    except OperationalError as exc:
        raise BrokerUnavailable(str(exc)) from exc
    try:
        cache.set(marker(task_id), 1, timeout=MARKER_SECONDS)
    except RedisError:
        # The message is queued; without the marker the sweep sends a second copy,
        # which mark_started skips.
        logger.warning("task %s queued, but its marker was not written", task_id)


def requeue_orphans() -> list[str]:
    """Queue again the PENDING tasks whose message never reached Redis; returns their ids.

    Does nothing unless SWEEP_EVERY_SECONDS passed since any worker last swept."""
    if not cache.add(SWEEP_LOCK, 1, timeout=SWEEP_EVERY_SECONDS):
        return []
    checked_up_to = cache.get(SWEEP_CHECKED_UP_TO)
    if checked_up_to is None:
        # First sweep, or Redis lost its data (and the markers with it): start at
        # the oldest PENDING row; with none, at the newest row.
        oldest = TaskRecord.objects.filter(status=Status.PENDING).order_by("id")
        first_pending = oldest.values_list("id", flat=True).first()
        newest = TaskRecord.objects.order_by("-id").values_list("id", flat=True).first()
        checked_up_to = (first_pending - 1) if first_pending else (newest or 0)
    cutoff = timezone.now() - timedelta(seconds=settings.ORPHAN_AFTER_SECONDS)
    rows = (
        TaskRecord.objects.filter(id__gt=checked_up_to)
        .order_by("id")
        .values_list("id", "task_id", "kind", "status", "submitted_at")[:SWEEP_BATCH]
    )
    due: list[tuple[int, str, int | None, str]] = []
    for row_id, uuid, kind, status, submitted_at in rows:
        if submitted_at >= cutoff:
            break  # too young to tell; ids grow with submission time
        due.append((row_id, str(uuid), kind, status))
    # A foreign task (no kind) was published by someone else: never sent from here.
    pending = [
        (row_id, task_id, kind)
        for row_id, task_id, kind, status in due
        if status == "PENDING" and kind is not None
    ]
    published = cache.get_many([marker(task_id) for _, task_id, _ in pending])
    requeued: list[str] = []
    for row_id, task_id, kind in pending:
        if marker(task_id) in published:
            continue
        try:
            publish(task_id, kind)
        except BrokerUnavailable:
            logger.warning("could not queue orphaned task %s again; next sweep", task_id)
            cache.set(SWEEP_CHECKED_UP_TO, row_id - 1, timeout=None)
            return requeued
        TaskRecord.note_queued_again(task_id, "its message never reached the queue; sent again")
        requeued.append(task_id)
    cache.set(SWEEP_CHECKED_UP_TO, due[-1][0] if due else checked_up_to, timeout=None)
    return requeued
