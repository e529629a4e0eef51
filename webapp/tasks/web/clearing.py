"""The web side of "Clear finished tasks": the set a click fixes, carrying on past
one request's time budget, and saying how far it got.

A click fixes its set as the visible tasks that had finished by then (`as_of`):
tasks finishing while the deletion runs are not swept with them. One request deletes
for at most CLEAR_TIME_BUDGET_SECONDS; if any are left it says how many and how to
go on (the same POST with `as_of` and `deleted`), which the htmx form does by itself.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from webapp.tasks.models import TaskRecord
from webapp.tasks.running.retention import delete_finished
from webapp.tasks.web.feedback import tell
from webapp.tasks.web.inputs import read_field
from webapp.tasks.web.representations import BadInput, answered
from webapp.tasks.web.views import render_table, table_query


@dataclass(frozen=True)
class Clearing:
    as_of: datetime
    deleted: int
    remaining: int

    @property
    def done(self) -> bool:
        return self.remaining == 0

    @property
    def message(self) -> str:
        if not self.done:
            total = self.deleted + self.remaining
            return f"Clearing: {self.deleted:,} of {total:,} finished tasks deleted…"
        if self.deleted == 0:
            return "There were no finished tasks to delete."
        return f"Deleted {self.deleted:,} finished task{'' if self.deleted == 1 else 's'}."

    def as_json(self) -> dict[str, Any]:
        if self.done:
            return {"deleted": self.deleted}
        return {
            "deleted": self.deleted,
            "remaining": self.remaining,
            "message": self.message,
            # The request that carries on: the same set, and the count so far.
            "continue": {
                "method": "POST",
                "url": reverse("tasks:clear"),
                "body": {"as_of": self.as_of.isoformat(), "deleted": self.deleted},
            },
        }


def read_clearing(request: HttpRequest) -> tuple[datetime, int]:
    """The set to delete (finished before `as_of`) and how many went in earlier
    requests: a new click's own moment and 0, or what a continuing request sends."""
    as_of, deleted = read_field(request, "as_of"), read_field(request, "deleted")
    now = timezone.now()
    if as_of in (None, ""):
        return now, 0
    try:
        moment = datetime.fromisoformat(str(as_of))
    except ValueError:
        shown = str(as_of)[:40]
        raise BadInput(f"`as_of` must be an ISO 8601 time, not {shown!r}.") from None
    if moment.tzinfo is None:
        raise BadInput("`as_of` must say its time zone, e.g. 2026-11-25T14:00:00+00:00.")
    if moment > now:
        raise BadInput("`as_of` is in the future; send the one the last answer gave.")
    if isinstance(deleted, bool) or not (
        isinstance(deleted, int) or (isinstance(deleted, str) and deleted.isdigit())
    ):
        raise BadInput("`deleted` must be the count the last answer gave (a whole number).")
    count = int(deleted)
    if count < 0:
        raise BadInput("`deleted` must not be negative.")
    return moment, count


def clear(request: HttpRequest, tasks: QuerySet[TaskRecord], next_url: str) -> HttpResponse:
    """Delete the finished ones among `tasks` (the caller's visible tasks) for up to
    the time budget; answer 200 when none is left, else 202 with the way on."""
    as_of, deleted_before = read_clearing(request)
    run = delete_finished(tasks, as_of, settings.CLEAR_TIME_BUDGET_SECONDS)
    clearing = Clearing(as_of, deleted_before + run.deleted, run.remaining)
    status = 200 if clearing.done else 202

    def fragment() -> HttpResponse:
        if clearing.done:  # the status region says it, as for every other action
            tell(request, clearing.message)
        # Said next to the form, which carries on by itself while any are left; part
        # of the fragment before it is compressed (live.response), never appended.
        context = {"clearing": clearing, "oob": True}
        status_html = render_to_string("dashboard.html#clear-status", context, request)
        return render_table(request, table_query(request, from_page=True), extra=status_html)

    def page() -> HttpResponse:
        context = {"clearing": clearing, "plain": True, "next": next_url}
        return render(request, "clear_finished.html", context, status=status)

    return answered(
        request,
        json=lambda: JsonResponse(clearing.as_json(), status=status),
        fragment=fragment,
        page=page,
    )
