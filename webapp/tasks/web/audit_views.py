"""The audit trail over HTTP: GET /audit/, newest first, filtered and paged by key.

A page for browsers, its table for htmx, JSON for scripts (web/representations.py picks).
Only those who see everyone's tasks may read it (staff; anyone while login is off,
on this machine alone). It only reads: no URL here or anywhere changes an entry.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from webapp.tasks.access.roles import requires
from webapp.tasks.models import AuditAction, AuditChannel, AuditEntry
from webapp.tasks.web.representations import BadInput, answered, negotiated

PAGE_SIZE = 50
# The parameters a filtered /audit/ URL carries, in the order its links write them.
FILTERS = ("action", "who", "through", "since", "until", "task")


@dataclass(frozen=True)
class AuditQuery:
    """The filters of a request to /audit/, checked, and the page (`before` an id)."""

    action: str = ""
    who: str = ""
    through: str = ""
    since: date | None = None
    until: date | None = None
    task: uuid.UUID | None = None
    before: int | None = None
    typed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> "AuditQuery":
        typed = {name: str(params.get(name, "")).strip() for name in FILTERS}
        action, through = typed["action"], typed["through"]
        if action and action not in AuditAction.values:
            raise BadInput(f"`action` must be one of {', '.join(AuditAction.values)}.")
        if through and through not in AuditChannel.values:
            raise BadInput(f"`through` must be one of {', '.join(AuditChannel.values)}.")
        if len(typed["who"]) > 150 or "\x00" in typed["who"]:
            raise BadInput("`who` is a username: at most 150 characters, and no NUL.")
        since, until = read_day(typed["since"], "since"), read_day(typed["until"], "until")
        if since and until and since > until:
            raise BadInput("`since` is after `until`; the range holds no day.")
        task = None
        if typed["task"]:
            try:
                task = uuid.UUID(typed["task"])
            except ValueError:
                raise BadInput("`task` must be a whole task id (a UUID).") from None
        return cls(
            action=action,
            who=typed["who"],
            through=through,
            since=since,
            until=until,
            task=task,
            before=read_before(params.get("before")),
            typed=typed,
        )

    @property
    def is_filtered(self) -> bool:
        return any(self.typed.values())

    def entries(self) -> QuerySet[AuditEntry]:
        entries = AuditEntry.objects.order_by("-id")
        if self.action:
            entries = entries.filter(action=self.action)
        if self.who:
            entries = entries.filter(username=self.who)
        if self.through:
            entries = entries.filter(channel=self.through)
        # The calendar's first and last days bound nothing (and their midnights may
        # not exist in UTC, nor the day after the last at all).
        if self.since and self.since > date.min:
            entries = entries.filter(at__gte=start_of(self.since))
        if self.until and self.until < date.max:
            entries = entries.filter(at__lt=start_of(self.until + timedelta(days=1)))
        if self.task:
            entries = entries.filter(task_id=self.task)
        if self.before is not None:
            entries = entries.filter(id__lt=self.before)
        return entries

    def query_string(self, **overrides: object) -> str:
        values: dict[str, object] = {**self.typed, **overrides}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def read_day(value: str, name: str) -> date | None:
    """A day as an <input type=date> sends it (2026-11-25), or None if empty."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        shown = value[:40]
        raise BadInput(f"`{name}` must be a day written 2026-11-25, not {shown!r}.") from None


def read_before(value: object) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise BadInput("`before` must be an entry id, as the `older` link gives it.")
    return int(text)


def start_of(day: date) -> datetime:
    """Midnight at the start of `day`, in the server's time zone (the one pages show)."""
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    older_query: str | None


def audit_page(query: AuditQuery) -> AuditPage:
    rows = list(query.entries()[: PAGE_SIZE + 1])
    older = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        older = query.query_string(before=rows[-1].pk)
    return AuditPage(rows, older)


@negotiated("GET")
@requires("tasks.view_audit")
def audit_trail(request: HttpRequest) -> HttpResponse:
    query = AuditQuery.from_params(request.GET)
    page = audit_page(query)
    here = reverse("audit")

    def json() -> HttpResponse:
        return JsonResponse(
            {
                "entries": [entry.as_json() for entry in page.entries],
                "older": f"{here}?{page.older_query}" if page.older_query else None,
            }
        )

    context = {
        "query": query,
        "page": page,
        "actions": AuditAction.choices,
        "channels": AuditChannel.choices,
        "here": here,
        "json_url": f"{here}?{query.query_string(before=query.before, format='json')}",
    }
    return answered(
        request,
        json=json,
        fragment=lambda: render(request, "audit.html#audit-entries", context),
        page=lambda: render(request, "audit.html", context),
    )
