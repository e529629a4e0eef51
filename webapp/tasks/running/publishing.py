"""Putting a task's message in Redis, and finding the tasks whose message never got there.

A task is committed as PENDING first and published second (the worker must find its
record). A process that dies in between, or a publish that fails after the record
was kept, leaves a row that would never run. So every successful publish leaves a
marker in the cache (Redis), and a sweep, run on worker heartbeats by one worker at
a time, queues again the PENDING rows past ORPHAN_AFTER_SECONDS without one.

Markers are written in batches, by a thread of each process, MARKER_FLUSH_SECONDS
after the first of a batch: one Redis round trip for many submits, none in the
submit's own answer. ORPHAN_AFTER_SECONDS (at least 1 s) is well above that, so
the sweep finds the marker of every message that was sent. A process killed with
markers unwritten only makes the sweep send those tasks again.

A message published twice is harmless: TaskRecord.mark_started lets only the first
copy start, and the other is skipped. So the sweep may err on the side of sending.

The sweep stays cheap however long the queue: it remembers the highest id it has
checked and reads only newer rows, along the primary key, at most SWEEP_BATCH at a
time. A row, once checked, never needs checking again: a task that goes back to
PENDING later (its worker lost) is published again by whoever moved it.
"""

import atexit
import logging
import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from webapp.celery import app
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord

logger = logging.getLogger(__name__)

TASK_NAME = "tasks.run"
# Long enough for the sweep to have checked the row (it runs every few seconds).
MARKER_SECONDS = 24 * 3600
MARKER_FLUSH_SECONDS = 0.1
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
    below, or a worker queueing a lost task again (running/workers.py)."""
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
    markers.add(task_id)


class MarkerWriter:
    """Writes the markers of the messages this process published, in batches, from a
    daemon thread of its own (started on first use in each process)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Also in a child just forked: the parent's lock may have been held, and its
        # thread and the ids it had yet to write stay with the parent.
        self._due: list[str] = []
        self._wake = threading.Condition()
        self._pid = 0

    def add(self, task_id: str) -> None:
        with self._wake:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="publish-markers", daemon=True).start()
            self._due.append(task_id)
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: bool(self._due))
            time.sleep(MARKER_FLUSH_SECONDS)  # let the submits of that moment join
            self.flush()

    def flush(self) -> None:
        with self._wake:
            batch, self._due = self._due, []
        if not batch:
            return
        try:
            cache.set_many({marker(task_id): 1 for task_id in batch}, timeout=MARKER_SECONDS)
        except RedisError:
            # The messages are queued; without markers the sweep sends second
            # copies, which mark_started skips.
            logger.warning("%d tasks queued, but their markers were not written", len(batch))


markers = MarkerWriter()
os.register_at_fork(after_in_child=markers._reset)
atexit.register(markers.flush)


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
