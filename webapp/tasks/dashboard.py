"""What the dashboard shows: the filtered, paged table with its counters, the workers
and queue panel and the charts, and a version that changes whenever any of it would."""

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import Count, QuerySet
from django.dispatch import receiver
from django.http import QueryDict
from django.utils import timezone

from webapp.tasks import charts
from webapp.tasks.access import tasks_of
from webapp.tasks.kinds import Kind
from webapp.tasks.models import (
    ACTIVE_STATUSES,
    Status,
    StatusCount,
    TaskRecord,
    WorkerStatus,
)

HEX = re.compile(r"^[0-9a-f]{1,32}$")


class BadQuery(ValueError):
    """A filter or page parameter that can't be understood; the message says why."""


@dataclass(frozen=True, kw_only=True)
class TableQuery:
    """Which tasks the table shows: whose, filters, and where the page starts.

    The owner has no default, so no query can be built without saying whose tasks
    it covers; views.table_query is where requests get theirs (access.owner_scope).
    """

    owner: int | None  # only this user's tasks (None: everyone's); not in URLs
    status: str = ""
    kind: Kind | None = None
    search: str = ""  # a prefix of task ids, as typed
    before: int | None = None  # show tasks older than this record id (keyset paging)

    @classmethod
    def from_params(cls, params: QueryDict, *, owner: int | None) -> "TableQuery":
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
            owner=owner,
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

    def visible(self) -> QuerySet[TaskRecord]:
        return tasks_of(self.owner)

    def filtered(self) -> QuerySet[TaskRecord]:
        tasks = self.visible()
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
        stamps = [(t.id, t.updated_at) for t in self.page.tasks]
        self.version = version_of(self.query, stamps, self.counts, self.workers)

    @property
    def active(self) -> bool:
        return any(self.counts[status] for status in ACTIVE_STATUSES)

    @property
    def poll_seconds(self) -> float:
        return settings.POLL_ACTIVE_SECONDS if self.active else settings.POLL_IDLE_SECONDS


def version_of(
    query: TableQuery,
    stamps: list[tuple[int, datetime]],
    counts: dict[str, int],
    workers: list[WorkerStatus],
) -> str:
    """A short hash of everything the live page shows: the visible rows (each row's
    updated_at moves with any change to it), the counts and the workers. Not the
    clock: an idle dashboard gets nothing but empty 204s, and its charts say up to
    what time they count."""
    rows = "|".join(f"{pk}:{updated.isoformat()}" for pk, updated in stamps)
    online = "|".join(f"{w.hostname}:{w.concurrency}" for w in workers)
    numbers = ",".join(str(n) for n in counts.values())
    key = f"{query}|{rows}|{numbers}|{online}"
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


# --- The poll's fast path ----------------------------------------------------------
# Most polls find nothing changed. On SQLite the database says so itself:
# `data_version` moves when another connection (a worker, another web process)
# commits, and `total_changes()` when this one writes. Until either moves or
# WORKER_CHECK_SECONDS pass (a worker that stopped writing heartbeats drops off the
# panel), the version computed last time still holds, and an unchanged poll costs
# one tiny query. Other databases compute it every time.

WORKER_CHECK_SECONDS = 5
_remembered: dict[TableQuery, tuple[tuple[object, ...], str]] = {}
_connection_generation = 0


@receiver(connection_created)
def _new_connection(**kwargs: object) -> None:
    # A new connection counts its changes from zero again: forget the old stamps.
    global _connection_generation
    _connection_generation += 1


def database_stamp() -> tuple[object, ...] | None:
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT data_version FROM pragma_data_version()), total_changes()")
        data_version, own_changes = cursor.fetchone()
    return (
        _connection_generation,
        data_version,
        own_changes,
        int(timezone.now().timestamp() // WORKER_CHECK_SECONDS),
    )


def poll_version(query: TableQuery) -> str:
    """The version a poll's `since` is compared with, as cheaply as it can be had."""
    stamp = database_stamp()
    if stamp is not None and (hit := _remembered.get(query)) and hit[0] == stamp:
        return hit[1]
    tasks = query.filtered()
    if query.before is not None:
        tasks = tasks.filter(id__lt=query.before)
    stamps = list(
        tasks.order_by("-id").values_list("id", "updated_at")[: settings.DASHBOARD_PAGE_SIZE]
    )
    version = version_of(query, stamps, status_counts(query), WorkerStatus.online())
    if stamp is not None:
        if len(_remembered) > 1000:  # one entry per filter in use; keep it bounded
            _remembered.clear()
        _remembered[query] = (stamp, version)
    return version


def snapshot(query: TableQuery) -> Snapshot:
    return Snapshot(
        query=query,
        page=page_of(query, settings.DASHBOARD_PAGE_SIZE),
        counts=status_counts(query),
        workers=WorkerStatus.online(),
    )


def status_counts(query: TableQuery) -> dict[str, int]:
    """Tasks per status: everyone's from the trigger-kept table, or one user's."""
    if query.owner is None:
        return StatusCount.as_dict()
    counts = {status.value: 0 for status in Status}
    counts.update(
        query.visible()
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return counts


def counters(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"status": status.value, "label": status.label, "count": counts[status.value]}
        for status in Status
    ]


def workers_panel(snap: Snapshot) -> dict[str, Any]:
    """Workers and queue. For a user who sees only their own tasks, the busy counts
    and the oldest queued task are theirs too (`own_only` labels them so): other
    users' tasks are not theirs to count, nor to date."""
    tasks = snap.query.visible()
    # Counted here rather than by GROUP BY, which SQLite may answer with a table scan
    # when its statistics rate the status index poorly; running tasks are few.
    busy = Counter(tasks.filter(status=Status.STARTED).values_list("worker", flat=True))
    oldest = tasks.filter(status=Status.PENDING).order_by("id").only("submitted_at").first()
    return {
        "own_only": snap.query.owner is not None,
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


def dashboard_context(snap: Snapshot) -> dict[str, Any]:
    now = timezone.now()
    return {
        "tasks": snap.page.tasks,
        "page": snap.page,
        "query": snap.query,
        "filter_query": snap.query.query_string(before=None),
        "poll_query": snap.query.query_string(since=snap.version),
        "version": snap.version,
        "poll_seconds": snap.poll_seconds,
        "counters": counters(snap.counts),
        "panel": workers_panel(snap),
        "throughput": charts.throughput(snap.query.visible(), now),
        "kind_times": charts.run_time_per_kind(snap.query.visible(), now),
        "statuses": list(Status),
        "kinds": list(Kind),
    }
