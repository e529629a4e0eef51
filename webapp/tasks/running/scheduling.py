"""Later runs: reading `eta` or `countdown` off a launch, and publishing scheduled
tasks when they are due.

A task launched for later is kept in the database, SCHEDULED with its `run_at`, and
nothing is sent to Redis until it is due. Celery's own ETAs would sit in Redis as
unacknowledged messages held by a worker, and an ETA further away than the broker's
visibility timeout is handed out again and runs twice (celery/celery#4766); they
would also hide the task from the table and survive a cancel only as a revoke list.

The publisher (`manage.py publish_due`, the `scheduler` process) asks every
TICK_SECONDS for the due tasks: one query along task_due_idx, cheap when nothing is
due. Each due task is claimed with a conditional UPDATE from SCHEDULED to PENDING
(TaskRecord.mark_due) and only the claimer publishes it, so two publishers, or a
publisher and a person's "run now", publish it once. A task that came due while no
publisher ran is published when one starts, its timeline saying how late.
"""

import logging
import math
import threading
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, close_old_connections
from django.http import HttpRequest
from django.utils import timezone
from redis.exceptions import RedisError

from webapp.tasks.catalogue.entries import Entry, InvalidParams
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.running.publishing import BrokerUnavailable, marker, publish
from webapp.tasks.web.inputs import FORM_TYPES, form_values, read_field

logger = logging.getLogger(__name__)

# How far ahead a task may be scheduled: further than this is more likely a mistake
# (seconds for milliseconds) than a plan, and belongs to a periodic schedule.
MAX_AHEAD = timedelta(days=30)
# An `eta` this far in the past is taken as "now" (clocks differ a little); further,
# it is refused rather than run at once by surprise.
PAST_TOLERANCE = timedelta(seconds=5)
# The publisher's cadence: a task is published at most this long after its time.
TICK_SECONDS = 0.2
WHEN_FIELDS = ("eta", "countdown")
ETA_EXAMPLE = "2026-11-25T18:30:00Z"


def read_run_at(request: HttpRequest, entry: Entry) -> datetime | None:
    """When the launch asks the task to run: None for now (no `eta` nor `countdown`,
    or a moment already come), else a time, at most MAX_AHEAD away. A bad value is
    InvalidParams naming its field, so that forms show it next to the field."""
    eta, countdown = read_field(request, "eta"), read_field(request, "countdown")
    given = {name: value for name, value in (("eta", eta), ("countdown", countdown))}
    errors: dict[str, str] = {}
    now = timezone.now()
    run_at: datetime | None = None
    if _blank(eta) and _blank(countdown):
        return None
    if not _blank(eta) and not _blank(countdown):
        errors["eta"] = "Send either `eta` or `countdown`, not both."
    elif not _blank(countdown):
        try:
            run_at = now + timedelta(seconds=seconds_of(countdown, from_form=_is_form(request)))
        except ValueError as exc:
            errors["countdown"] = str(exc)
    else:
        try:
            run_at = moment_of(eta, now)
        except ValueError as exc:
            errors["eta"] = str(exc)
    if errors:
        raise InvalidParams(entry, errors, _as_typed(request, given))
    return run_at if run_at and run_at > now else None


def seconds_of(value: object, from_form: bool) -> float:
    """A countdown: a number of seconds from 0 to MAX_AHEAD (a JSON number, or a form
    field's digits)."""
    most = int(MAX_AHEAD.total_seconds())
    refused = ValueError(
        f"`countdown` must be a number of seconds from 0 to {most} (30 days); "
        f"got {_shown(value)!r}."
    )
    if from_form and isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and 0 < len(text) < 20):
            raise refused
        try:
            value = float(text)
        except ValueError:
            raise refused from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise refused
    if not (math.isfinite(value) and 0 <= value <= most):
        raise refused
    return float(value)


def moment_of(value: object, now: datetime) -> datetime:
    """An eta: an ISO 8601 moment with its UTC offset, not in the past (beyond
    PAST_TOLERANCE) and at most MAX_AHEAD away."""
    what = f"`eta` must be an ISO 8601 moment with its UTC offset, such as {ETA_EXAMPLE}"
    if not isinstance(value, str) or len(value.strip()) > 40:
        raise ValueError(f"{what}; got {_shown(value)!r}.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what}; got {_shown(value)!r}.") from None
    if timezone.is_naive(moment):
        raise ValueError(
            f"{what}; {_shown(value)!r} has no offset, and the server will not guess "
            "your time zone: add Z or +01:00."
        )
    if moment < now - PAST_TOLERANCE:
        ago = (now - moment).total_seconds()
        raise ValueError(f"`eta` is {ago:.0f} s in the past; send a moment still to come.")
    if moment > now + MAX_AHEAD:
        raise ValueError("`eta` is more than 30 days ahead; schedule at most 30 days ahead.")
    return moment


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_form(request: HttpRequest) -> bool:
    return request.content_type in FORM_TYPES


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 20 else text[:20] + "…"


def _as_typed(request: HttpRequest, when: dict[str, object]) -> dict[str, str]:
    """What a refused form showed, to show it again: its parameters and `when`."""
    if not _is_form(request):
        return {}
    typed = {
        name: (form_values(request, name) or [""])[0]
        for name in request.POST
        if name not in ("type", "csrfmiddlewaretoken")
    }
    return typed | {name: "" if value is None else str(value) for name, value in when.items()}


# --- Publishing ---------------------------------------------------------------------


def publish_due(now: datetime | None = None) -> list[str]:
    """Publish the scheduled tasks due by `now`, each once; returns the ids published.

    A broker that won't take a message leaves its task SCHEDULED (still due), and
    this tick ends there: the next one tries again."""
    published = []
    for task_id, kind, run_at in TaskRecord.due(now or timezone.now()):
        if not TaskRecord.mark_due(task_id, run_at):
            continue  # another publisher, or a person's "run now", has it
        try:
            publish(task_id, kind)
        except BrokerUnavailable as exc:
            logger.warning("could not queue scheduled task %s: %s", task_id, exc)
            TaskRecord.mark_unpublished(task_id, "the task queue was not reachable")
            break
        logger.info("published scheduled task %s (due %s)", task_id, run_at.isoformat())
        published.append(task_id)
    return published


def run_now(record: TaskRecord) -> bool:
    """Publish a scheduled task ahead of its time; False if it was no longer
    scheduled (published by its time, or cancelled). BrokerUnavailable leaves it
    scheduled as it was."""
    if record.kind is None:
        return False  # published elsewhere (running/seen.py): never scheduled here
    due = record.run_at.isoformat(timespec="milliseconds") if record.run_at else "?"
    task_id = str(record.task_id)
    if not TaskRecord.mark_due(task_id, record.run_at, note=f"run now (it was due at {due})"):
        return False
    try:
        publish(task_id, record.kind)
    except BrokerUnavailable:
        TaskRecord.mark_unpublished(task_id, "the task queue was not reachable")
        raise
    return True


def publish_claimed() -> list[str]:
    """On start: publish the tasks a publisher claimed but may have died before
    publishing (PENDING, scheduled, no published marker). A second message for one
    that did go out is harmless: TaskRecord.mark_started lets one copy start."""
    claimed = [
        (str(task_id), kind)
        for task_id, kind in TaskRecord.objects.filter(
            status=Status.PENDING, run_at__isnull=False, kind__isnull=False
        ).values_list("task_id", "kind")
        if kind is not None
    ]
    try:
        seen: dict[str, Any] = cache.get_many([marker(task_id) for task_id, _ in claimed])
    except RedisError:
        seen = {}
    sent = []
    for task_id, kind in claimed:
        if marker(task_id) not in seen:
            publish(task_id, kind)
            TaskRecord.note_queued_again(task_id, "its publisher stopped before sending it; sent")
            sent.append(task_id)
    return sent


def run_forever(stop: threading.Event, tick: float = TICK_SECONDS) -> None:
    """The scheduler process's loop: publish what is due every `tick` seconds until
    `stop` is set. A database or broker that is away is logged and tried again."""
    started = False
    while not stop.is_set():
        try:
            if not started:
                publish_claimed()
                started = True
                logger.info("scheduler ready: publishing scheduled tasks when due")
            publish_due()
        except (DatabaseError, BrokerUnavailable, RedisError) as exc:
            logger.warning("scheduler tick failed, trying again: %s", exc)
            close_old_connections()
        stop.wait(tick)
