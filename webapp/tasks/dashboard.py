"""What the dashboard shows: the filtered, paged table with its counters, the workers
and queue panel and the charts, and a version that changes whenever any of it would."""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webapp.tasks import charts
from webapp.tasks.kinds import Kind
from webapp.tasks.models import (
    ACTIVE_STATUSES,
    Status,
    StatusCount,
    TaskEvent,
    TaskRecord,
    WorkerStatus,
)

HEX = re.compile(r"^[0-9a-f]{1,32}$")


class BadQuery(ValueError):
    """A filter or page parameter that can't be understood; the message says why."""


@dataclass(frozen=True)
class TableQuery:
    """Which tasks the table shows: filters, and where the page starts."""

    status: str = ""
    kind: Kind | None = None
    search: str = ""  # a prefix of task ids, as typed
    before: int | None = None  # show tasks older than this record id (keyset paging)

    @classmethod
    def from_params(cls, params: QueryDict) -> "TableQuery":
        status = params.get("status", "").strip().upper()
        if status and status not in Status.values:
            raise BadQuery(f"status must be one of {', '.join(Status.values)}.")
        kind_text = params.get("kind", "").strip()
        if kind_text and not (
            kind_text.isascii()
            and kind_text.isdigit()
            and len(kind_text) < 5  # int() refuses more than 4300 digits
            and int(kind_text) in Kind.values
        ):
            raise BadQuery(f"kind must be one of {Kind.accepted()}.")
        search = params.get("q", "").strip()
        if search and not HEX.match(search.replace("-", "").lower()):
            raise BadQuery("Search takes the start of a task id: hex digits and dashes.")
        before_text = params.get("before", "").strip()
        if before_text and not (
            before_text.isascii() and before_text.isdigit() and len(before_text) < 19
        ):
            raise BadQuery("before must be a record number from a page link.")
        return cls(
            status=status,
            kind=Kind(int(kind_text)) if kind_text else None,
            search=search,
            before=int(before_text) if before_text else None,
        )

    @property
    def is_filtered(self) -> bool:
        return bool(self.status or self.kind is not None or self.search)

    def query_string(self, **overrides: Any) -> str:
        """This query as URL parameters, with some replaced (None drops one)."""
        values: dict[str, Any] = {
            "status": self.status,
            "kind": "" if self.kind is None else int(self.kind),
            "q": self.search,
            "before": self.before or "",
        } | overrides
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def filtered(self) -> QuerySet[TaskRecord]:
        tasks = TaskRecord.objects.all()
        if self.status:
            tasks = tasks.filter(status=self.status)
        if self.kind is not None:
            tasks = tasks.filter(kind=self.kind)
        if self.search:
            # A prefix of a UUID is a range of UUIDs: an index range scan on every
            # database, where LIKE on a UUID column would read the whole table.
            digits = self.search.replace("-", "").lower()
            low = digits.ljust(32, "0")
            tasks = tasks.filter(task_id__gte=low)
            if digits != "f" * len(digits):
                high = format(int(digits, 16) + 1, "x").zfill(len(digits)).ljust(32, "0")
                tasks = tasks.filter(task_id__lt=high)
        return tasks


@dataclass
class Page:
    tasks: list[TaskRecord]
    older_before: int | None  # `before` of the next (older) page, if there is one
    newer_query: str | None  # query string of the previous (newer) page, if any
    is_first: bool


def page_of(query: TableQuery, size: int) -> Page:
    tasks = query.filtered()
    if query.before is not None:
        tasks = tasks.filter(id__lt=query.before)
    rows = list(tasks.order_by("-id")[: size + 1])
    older_before = rows[size - 1].id if len(rows) > size else None
    rows = rows[:size]
    newer_query = None
    if query.before is not None:
        # Keyset paging backwards: up to `size` tasks just newer than this page.
        top = rows[0].id if rows else query.before - 1
        newer = list(
            query.filtered().filter(id__gt=top).order_by("id").values_list("id", flat=True)[:size]
        )
        reaches_newest = len(newer) < size
        newer_query = query.query_string(before=None if reaches_newest else newer[-1] + 1)
    return Page(rows, older_before, newer_query, is_first=query.before is None)


@dataclass
class Snapshot:
    """Everything one poll needs to decide whether anything changed."""

    query: TableQuery
    page: Page
    counts: dict[str, int]
    workers: list[WorkerStatus]
    version: str = field(init=False)

    def __post_init__(self) -> None:
        rows = "|".join(f"{t.id}:{t.updated_at.isoformat()}" for t in self.page.tasks)
        workers = "|".join(f"{w.hostname}:{w.concurrency}" for w in self.workers)
        counts = ",".join(str(n) for n in self.counts.values())
        # The minute moves the charts' one-hour window along even when idle.
        minute = timezone.now().strftime("%Y%m%d%H%M")
        key = f"{self.query}|{rows}|{counts}|{workers}|{minute}"
        self.version = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()

    @property
    def active(self) -> bool:
        return any(self.counts[status] for status in ACTIVE_STATUSES)

    @property
    def poll_seconds(self) -> float:
        return settings.POLL_ACTIVE_SECONDS if self.active else settings.POLL_IDLE_SECONDS


def snapshot(query: TableQuery) -> Snapshot:
    return Snapshot(
        query=query,
        page=page_of(query, settings.DASHBOARD_PAGE_SIZE),
        counts=StatusCount.as_dict(),
        workers=WorkerStatus.online(),
    )


def counters(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"status": status.value, "label": status.label, "count": counts[status.value]}
        for status in Status
    ]


def workers_panel(snap: Snapshot) -> dict[str, Any]:
    busy = dict(
        TaskRecord.objects.filter(status=Status.STARTED)
        .values_list("worker")
        .annotate(n=Count("id"))
        .values_list("worker", "n")
    )
    oldest = (
        TaskRecord.objects.filter(status=Status.PENDING).order_by("id").only("submitted_at").first()
    )
    return {
        "workers": [
            {
                "hostname": w.hostname,
                "concurrency": w.concurrency,
                "active": busy.get(w.hostname, 0),
                "since": w.started_at,
            }
            for w in snap.workers
        ],
        "queued": snap.counts[Status.PENDING],
        "retrying": snap.counts[Status.RETRY],
        "oldest_queued_at": oldest.submitted_at if oldest else None,
        "flower_url": settings.FLOWER_URL,
    }


def announcements(snap: Snapshot, seen: str | None) -> list[str]:
    """Status changes of the visible tasks since the client's last render, for the
    aria-live region (screen readers say them; the table shows them)."""
    try:
        since = parse_datetime(seen) if seen else None
        if since is None:
            return []
        # In UTC now: a moment near year 1 or 9999 would overflow in the query.
        if timezone.is_naive(since):
            since = timezone.make_aware(since)
        since = since.astimezone(UTC)
    except (ValueError, OverflowError):  # well formed but impossible: month 13, ...
        return []
    by_pk = {t.id: t for t in snap.page.tasks}
    events = TaskEvent.objects.filter(task_id__in=by_pk, at__gt=since).order_by("at")[:5]
    return [
        f"Task {by_pk[e.task_id].short_id} ({by_pk[e.task_id].get_kind_display()}) "
        f"{Status(e.status).label}."
        for e in events
    ]


def dashboard_context(snap: Snapshot, seen: str | None = None) -> dict[str, Any]:
    now = timezone.now()
    return {
        "tasks": snap.page.tasks,
        "page": snap.page,
        "query": snap.query,
        "filter_query": snap.query.query_string(before=None),
        "poll_query": snap.query.query_string(since=snap.version, seen=now.isoformat()),
        "version": snap.version,
        "poll_seconds": snap.poll_seconds,
        "counters": counters(snap.counts),
        "panel": workers_panel(snap),
        "throughput": charts.throughput(now),
        "kind_times": charts.run_time_per_kind(now),
        "announcements": announcements(snap, seen),
        "statuses": list(Status),
        "kinds": list(Kind),
        "rendered_at": now,
    }
