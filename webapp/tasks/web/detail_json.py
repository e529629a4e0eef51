"""One task as JSON (`GET /tasks/<id>/`, what curl and scripts read): the record
with its retries in one query, its timeline in another, and a finished task's
answer kept in memory while the database says that nothing changed.

Scripts poll a task's URL until it finishes and keep reading it afterwards. A
finished task's answer depends on nothing but the database (no "so far" figures),
so, as the table poll does (dashboard.poll_version), each web process keeps the
bytes it answered with and the database's change stamp at that moment: until any
connection commits anything, the same request gets the same bytes for one tiny
query. The key is the task and the owner scope that read it, so an answer is
never handed to a reader who may see other retries, or not the task at all.
"""

import uuid
from functools import lru_cache
from typing import Any

from django.db.models import CharField, OuterRef, QuerySet, StringAgg, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest, HttpResponse, JsonResponse

from webapp.tasks.access import owner_scope, tasks_of
from webapp.tasks.models import ACTIVE_STATUSES, TaskEvent, TaskRecord
from webapp.tasks.table.query import database_stamp
from webapp.tasks.web import timeline
from webapp.tasks.web.representations import BadInput

# (task id, owner scope) -> (change stamp, JSON bytes); bounded like the poll's.
_remembered: dict[tuple[uuid.UUID, int | None], tuple[tuple[object, ...], bytes]] = {}
REMEMBER_AT_MOST = 1000


def answer(request: HttpRequest, task_id: str) -> HttpResponse:
    """The task's JSON, or a 404 naming the id (as views.get_record says it)."""
    try:
        key = (uuid.UUID(task_id), owner_scope(request))
    except ValueError:
        raise not_found(task_id) from None
    stamp = database_stamp()  # before reading: a change after it is seen next time
    if stamp is not None and (hit := _remembered.get(key)) and hit[0] == stamp:
        return HttpResponse(hit[1], content_type="application/json")
    try:
        record = with_relations(key[1]).get(task_id=key[0])
    except TaskRecord.DoesNotExist:
        raise not_found(task_id) from None
    response = JsonResponse(as_json(record))
    if stamp is not None and record.status not in ACTIVE_STATUSES:
        if len(_remembered) >= REMEMBER_AT_MOST:
            _remembered.clear()
        _remembered[key] = (stamp, response.content)
    return response


def not_found(task_id: str) -> BadInput:
    shown = task_id if len(task_id) <= 40 else task_id[:40] + "…"
    return BadInput(f"There is no task with id {shown!r}.", status=404)


@lru_cache(maxsize=256)
def with_relations(owner: int | None) -> QuerySet[TaskRecord]:
    """The tasks an owner scope covers, each with the id of the task it retries if
    that is covered too, and its covered retries as "id:task_id,..." (a staff
    member's retry of your task is theirs, not yours): one query instead of three.

    Building these subqueries costs more than running them, and they are the same
    for every read in a scope: built once per scope, then only filtered by id (a
    QuerySet is never changed by filtering it, only copied)."""
    visible = tasks_of(owner)
    retries = (
        visible.filter(retry_of=OuterRef("pk"))
        .order_by()
        .values("retry_of")
        .annotate(
            listed=StringAgg(
                Concat(Cast("id", CharField()), Value(":"), Cast("task_id", CharField())),
                Value(","),
            )
        )
        .values("listed")
    )
    return visible.annotate(
        retry_of_task_id=Subquery(visible.filter(pk=OuterRef("retry_of_id")).values("task_id")),
        retries_listed=Subquery(retries),
    )


def retry_ids(listed: str | None) -> list[str]:
    """The retries' ids, newest first, from with_relations' "id:task_id" list."""
    pairs = [pair.split(":", 1) for pair in (listed or "").split(",") if pair]
    return [str(uuid.UUID(task)) for _, task in sorted(pairs, key=lambda p: -int(p[0]))]


def as_json(record: Any) -> dict[str, object]:
    # `record` carries with_relations' annotations, which TaskRecord's type doesn't.
    # It names the task it retries only as far as this reader may see it.
    visible_original = record.retry_of_task_id
    record.retry_of = (
        TaskRecord(pk=record.retry_of_id, task_id=visible_original) if visible_original else None
    )
    events = list(TaskEvent.objects.filter(task=record))  # for the durations and the list
    times = timeline.durations(record, events)
    answer: dict[str, object] = record.as_json()
    return answer | {
        # From the timeline: first start, and every attempt's run (the list shows
        # the latest attempt's, from the record alone).
        "queued_seconds": _round(times.queued_seconds),
        "run_seconds": _round(times.ran_seconds),
        "attempt_seconds": [_round(a.seconds) for a in times.attempts],
        "events": [{"status": e.status, "at": e.at.isoformat(), "note": e.note} for e in events],
        "retries": retry_ids(record.retries_listed),
    }


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 2)
