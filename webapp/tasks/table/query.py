"""What the dashboard shows: the filtered, paged table with its counters, the workers
and queues panel and the charts, and a version that changes whenever any of it would."""

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import F, Prefetch, QuerySet, Value, prefetch_related_objects
from django.db.models.fields.tuple_lookups import Tuple
from django.db.models.lookups import GreaterThan, LessThan
from django.dispatch import receiver
from django.http import QueryDict
from django.utils import timezone

from webapp.tasks.access.scope import status_counts_of, tasks_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.metrics import reading
from webapp.tasks.models import (
    ACTIVE_STATUSES,
    Status,
    TaskRecord,
    WorkerStatus,
)
from webapp.tasks.running import queues
from webapp.tasks.running.queues import Queue
from webapp.tasks.table import charts
from webapp.tasks.web.feedback import count_text

# The kind filter's value for tasks published outside the dashboard (no kind).
FOREIGN = "other"
HEX = re.compile(r"^[0-9a-f]{1,32}$")
# A keyset position: the id of the last row seen, after its sort value when the
# order has one (a status, or a run time in microseconds).
CURSOR = re.compile(r"^(?:([A-Z]{1,9}|\d{1,15})\.)?(\d{1,18})$")

# Rows per page a viewer may pick (plus DASHBOARD_PAGE_SIZE, the default).
PAGE_SIZES = (10, 25, 50, 100)

# Only orders an index reads in order, so that every page is a short range scan and
# keyset paging works: the primary key (submission order), (status, id) and
# (run_time, id). Sorting by run time lists the tasks that have one (they ran and
# finished): NULLs sort differently on SQLite and PostgreSQL and break a keyset.
SORTS: dict[str, tuple[str, ...]] = {
    "": ("-id",),  # newest first: pages by `before`, as before sorting existed
    "oldest": ("id",),
    "status": ("status", "id"),
    "-status": ("-status", "-id"),
    "runtime": ("run_time", "id"),
    "-runtime": ("-run_time", "-id"),
}


def sort_column(sort: str) -> str | None:
    """The column an order sorts by before the id, if any."""
    first = SORTS[sort][0].lstrip("-")
    return None if first == "id" else first


class BadQuery(ValueError):
    """A filter or page parameter that can't be understood; the message says why."""


@dataclass(frozen=True, kw_only=True)
class TableQuery:
    """Which tasks the table shows: whose, filters, and where the page starts.

    The owner has no default, so no query can be built without saying whose tasks
    it covers; web/answers.table_query is where requests get theirs (access.scope.owner_scope).
    """

    owner: int | None  # only this user's tasks (None: everyone's); not in URLs
    status: str = ""
    kind: Kind | None = None
    foreign: bool = False  # kind=other: only tasks published outside the dashboard
    search: str = ""  # a prefix of task ids, as typed
    before: int | None = None  # show tasks older than this record id (keyset paging)
    sort: str = ""  # a key of SORTS
    after: str = ""  # other sorts' keyset cursor: "id" or "STATUS.id" of the last row seen
    size: int | None = None  # rows per page; None: DASHBOARD_PAGE_SIZE
    # What the reader may do (access.may_codes): which buttons the table shows. Part
    # of the version, so readers who may do different things share no fragment.
    may: tuple[str, ...] = ()

    @classmethod
    def from_params(
        cls, params: QueryDict, *, owner: int | None, may: tuple[str, ...] = ()
    ) -> "TableQuery":
        status = params.get("status", "").strip().upper()
        if status and status not in Status.values:
            raise BadQuery(f"status must be one of {', '.join(Status.values)}.")
        kind_text = params.get("kind", "").strip()
        foreign = kind_text == FOREIGN
        if foreign:
            kind_text = ""
        elif kind_text and not (
            kind_text.isascii()
            and kind_text.isdigit()
            and len(kind_text) < 5  # int() refuses more than 4300 digits
            and int(kind_text) in Kind.values
        ):
            raise BadQuery(f"kind must be one of {Kind.accepted()}, or {FOREIGN}.")
        search = params.get("q", "").strip()
        if search and not HEX.match(search.replace("-", "").lower()):
            raise BadQuery("Search takes the start of a task id: hex digits and dashes.")
        before_text = params.get("before", "").strip()
        if before_text and not (
            before_text.isascii() and before_text.isdigit() and len(before_text) < 19
        ):
            raise BadQuery("before must be a record number from a page link.")
        sort = params.get("sort", "").strip()
        if sort not in SORTS:
            raise BadQuery(f"sort must be one of {', '.join(k for k in SORTS if k)} (or empty).")
        after = params.get("after", "").strip()
        if after and not ((match := CURSOR.match(after)) and cursor_fits(sort, match[1])):
            raise BadQuery("after must be a position from a page link.")
        size_text = params.get("size", "").strip()
        sizes = sorted({*PAGE_SIZES, settings.DASHBOARD_PAGE_SIZE})
        if size_text and not (
            size_text.isascii()
            and size_text.isdigit()
            and len(size_text) < 5
            and int(size_text) in sizes
        ):
            raise BadQuery(f"size must be one of {', '.join(map(str, sizes))}.")
        return cls(
            owner=owner,
            status=status,
            kind=Kind(int(kind_text)) if kind_text else None,
            foreign=foreign,
            search=search,
            before=int(before_text) if before_text and not sort else None,
            sort=sort,
            after=after if sort else "",
            size=int(size_text) if size_text else None,
            may=may,
        )

    @property
    def by_run_time(self) -> bool:
        return sort_column(self.sort) == "run_time"

    @property
    def page_size(self) -> int:
        return self.size or settings.DASHBOARD_PAGE_SIZE

    @property
    def is_filtered(self) -> bool:
        return bool(self.status or self.kind is not None or self.foreign or self.search)

    def query_string(self, **overrides: Any) -> str:
        """This query as URL parameters, with some replaced (None drops one)."""
        values: dict[str, Any] = {
            "status": self.status,
            "kind": FOREIGN if self.foreign else "" if self.kind is None else int(self.kind),
            "q": self.search,
            "sort": self.sort,
            "size": self.size or "",
            "before": self.before or "",
            "after": self.after,
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
        if self.foreign:
            tasks = tasks.filter(kind__isnull=True)  # along the (kind, id) index
        if self.search:
            tasks = with_id_prefix(tasks, self.search)
        if self.by_run_time:
            tasks = tasks.filter(run_time__isnull=False)
        return tasks

    def from_page_start(self) -> QuerySet[TaskRecord]:
        """The filtered tasks from where this page starts, in the table's order: what
        the page shows, the poll's version covers and a launch is looked for in."""
        tasks = self.filtered()
        if self.before is not None:
            tasks = tasks.filter(id__lt=self.before)
        if self.after:
            tasks = after_cursor(self, tasks)
        return tasks.order_by(*SORTS[self.sort])


def cursor_fits(sort: str, value: str | None) -> bool:
    """Whether a cursor's sort value suits the order: none, a status or microseconds."""
    column = sort_column(sort)
    if column is None:
        return value is None
    return value is not None and value.isdigit() == (column == "run_time")


def with_id_prefix(tasks: QuerySet[TaskRecord], prefix: str) -> QuerySet[TaskRecord]:
    """The tasks whose id starts with `prefix` (hex digits, dashes ignored).

    A prefix of a UUID is a range of UUIDs: an index range scan on every database,
    where LIKE on a UUID column would read the whole table."""
    digits = prefix.replace("-", "").lower()
    tasks = tasks.filter(task_id__gte=digits.ljust(32, "0"))
    if digits != "f" * len(digits):
        high = format(int(digits, 16) + 1, "x").zfill(len(digits)).ljust(32, "0")
        tasks = tasks.filter(task_id__lt=high)
    return tasks


@dataclass
class Page:
    tasks: list[TaskRecord]
    older_query: str | None  # query string of the next page in this order, if any
    newer_query: str | None  # query string of the previous (newer) page, if any
    is_first: bool


def cursor_of(query: TableQuery, task: TaskRecord) -> str:
    column = sort_column(query.sort)
    if column == "status":
        return f"{task.status}.{task.id}"
    if column == "run_time" and task.run_time is not None:
        return f"{task.run_time // timedelta(microseconds=1)}.{task.id}"
    return str(task.id)


def after_cursor(query: TableQuery, tasks: QuerySet[TaskRecord]) -> QuerySet[TaskRecord]:
    """The tasks after `query.after` in the query's order: one range on its index
    (a row-value comparison for (status, id), which SQLite and PostgreSQL both scan)."""
    match = CURSOR.match(query.after)
    if not match:
        return tasks
    descending = SORTS[query.sort][0].startswith("-")
    column = sort_column(query.sort)
    if column is None:
        return (
            tasks.filter(id__lt=int(match[2])) if descending else tasks.filter(id__gt=int(match[2]))
        )
    value: object = match[1]
    if column == "run_time":
        value = timedelta(microseconds=int(match[1]))
    key, pivot = Tuple(F(column), F("id")), Tuple(Value(value), Value(int(match[2])))
    return tasks.filter(LessThan(key, pivot) if descending else GreaterThan(key, pivot))


def page_of(query: TableQuery, size: int) -> Page:
    # Each row says what it was retried as, and what it is a retry of: two queries
    # for the page, not two per row, and only naming tasks this owner scope covers
    # (a staff member's retry of your task is theirs).
    rows = list(query.from_page_start()[: size + 1])
    related = query.visible().only("id", "task_id", "retry_of_id")
    if rows:
        # The range around the IN list keeps SQLite on an index of retry_of: for an
        # owner equality with an IN list alone, it would rather read all of that
        # owner's tasks (as in retention._delete_batch).
        ids = [row.id for row in rows]
        retries = related.filter(retry_of__gte=min(ids), retry_of__lte=max(ids))
        prefetch_related_objects(
            rows, Prefetch("retries", queryset=retries), Prefetch("retry_of", queryset=related)
        )
    older_query = None
    if len(rows) > size:
        last = rows[size - 1]
        older_query = (
            query.query_string(after=cursor_of(query, last))
            if query.sort
            else query.query_string(before=last.id)
        )
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
    return Page(rows, older_query, newer_query, is_first=query.before is None and not query.after)


def on_page(query: TableQuery, pk: int) -> bool:
    """Whether the task is among the rows the query's page shows (one indexed read)."""
    return pk in query.from_page_start().values_list("id", flat=True)[: query.page_size]


@dataclass
class Snapshot:
    """Everything one poll needs to decide whether anything changed."""

    query: TableQuery
    page: Page
    counts: dict[str, int]
    workers: list[WorkerStatus]
    matching: int  # tasks that match the filters (at least, unless matching_exact)
    matching_exact: bool
    queues: list[Queue] = field(default_factory=list)
    version: str = field(init=False)
    shape: str = field(init=False)  # the version but for progress, counts, queue depths
    slow: set[int] = field(init=False)  # running rows slower than usual (metrics/reading.py)

    def __post_init__(self) -> None:
        tasks = self.page.tasks
        self.slow = slow_rows([(t.id, t.status, t.kind, t.started_at) for t in tasks])
        stamps = [(t.id, t.updated_at) for t in tasks]
        self.version = version_of(
            self.query, stamps, self.counts, self.workers, self.queues, self.slow
        )
        ids = [t.id for t in tasks]
        self.shape = shape_of(self.query, ids, self.workers, self.queues, self.slow)

    @property
    def active(self) -> bool:
        # A scheduled task counts: when it runs, the table shows it within a second.
        return any(self.counts[status] for status in (Status.SCHEDULED, *ACTIVE_STATUSES))

    @property
    def poll_seconds(self) -> float:
        return settings.POLL_ACTIVE_SECONDS if self.active else settings.POLL_IDLE_SECONDS


def version_of(
    query: TableQuery,
    stamps: list[tuple[int, datetime]],
    counts: dict[str, int],
    workers: list[WorkerStatus],
    queue_list: list[Queue],
    slow: set[int],
) -> str:
    """A short hash of everything the live page shows: the visible rows (each row's
    updated_at moves with any change to it), the counts, the workers and the queues,
    and which running rows are slower than usual. Not the clock: an idle dashboard
    gets nothing but empty 204s, and its charts say up to what time they count. (The
    slow rows do move with the clock, but only while a task runs, and a running
    task's table polls anyway: the version moves once, when a row passes its kind's
    usual time, within WORKER_CHECK_SECONDS on SQLite.)"""
    rows = "|".join(f"{pk}:{updated.isoformat()}" for pk, updated in stamps)
    numbers = ",".join(str(n) for n in counts.values())
    waiting = "|".join(queue.version for queue in queue_list)
    return digest(query, rows, numbers, workers_key(workers), waiting, sorted(slow))


def workers_key(workers: list[WorkerStatus]) -> str:
    return "|".join(f"{w.hostname}:{w.concurrency}:{','.join(w.consuming)}" for w in workers)


def digest(*parts: object) -> str:
    """A short hash of the parts, each as text, joined by "|"."""
    key = "|".join(map(str, parts))
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
    stamps, slow = visible_rows(query)
    workers = WorkerStatus.online()
    queue_list = queues.overview(query.owner, workers, with_oldest=False)
    version = version_of(query, stamps, status_counts(query), workers, queue_list, slow)
    if stamp is not None:
        if len(_remembered) > 1000:  # one entry per filter in use; keep it bounded
            _remembered.clear()
        _remembered[query] = (stamp, version)
    return version


def table_state(query: TableQuery) -> tuple[str, str]:
    """The table's version, and its shape: the same but for the numbers a busy system
    moves all the time - the rows' progress (their updated_at), the status counts and
    the queues' depths - so it holds while only those move (three index reads and the
    queues, as poll_version's when it can't tell from the stamp)."""
    stamps, slow = visible_rows(query)
    counts, workers = status_counts(query), WorkerStatus.online()
    queue_list = queues.overview(query.owner, workers, with_oldest=False)
    version = version_of(query, stamps, counts, workers, queue_list, slow)
    return version, shape_of(query, [pk for pk, _ in stamps], workers, queue_list, slow)


def visible_rows(query: TableQuery) -> tuple[list[tuple[int, datetime]], set[int]]:
    """The page's rows as a version needs them, in one indexed read: (id, updated_at)
    and which of them are slower than usual."""
    rows = list(
        query.from_page_start().values_list("id", "updated_at", "status", "kind", "started_at")[
            : query.page_size
        ]
    )
    stamps = [(pk, updated) for pk, updated, *_ in rows]
    return stamps, slow_rows([(pk, status, kind, started) for pk, _, status, kind, started in rows])


def slow_rows(rows: list[tuple[int, str, int | None, datetime | None]]) -> set[int]:
    """The running rows that have run longer than their kind's usual p95."""
    return set(reading.slower_than_usual(rows, timezone.now()))


def shape_of(
    query: TableQuery,
    ids: list[int],
    workers: list[WorkerStatus],
    queue_list: list[Queue],
    slow: set[int],
) -> str:
    """The version but for the numbers a busy system moves all the time: the rows'
    progress (only their ids here), the status counts and the queues' depths."""
    steering = "|".join(queue.shape for queue in queue_list)
    return digest(query, ",".join(map(str, ids)), workers_key(workers), steering, sorted(slow))


def snapshot(query: TableQuery, with_queues: bool = True) -> Snapshot:
    """What the page shows; the list's JSON, which has no workers panel, reads no
    queues (`with_queues=False`)."""
    counts = status_counts(query)
    workers = WorkerStatus.online()
    return Snapshot(
        query=query,
        page=page_of(query, query.page_size),
        counts=counts,
        workers=workers,
        queues=queues.overview(query.owner, workers) if with_queues else [],
        **matching_count(query, counts),
    )


# Counting a filter reads its rows, so it stops here: "10 000+" is all a person needs.
COUNT_LIMIT = 10_000


def matching_count(query: TableQuery, counts: dict[str, int]) -> dict[str, Any]:
    """How many tasks match the filters: exact from the per-status counts when only
    the status (or nothing) is filtered, else a COUNT that stops past COUNT_LIMIT."""
    if query.kind is None and not query.foreign and not query.search and not query.by_run_time:
        exact = counts[query.status] if query.status else sum(counts.values())
        return {"matching": exact, "matching_exact": True}
    counted = query.filtered().order_by()[: COUNT_LIMIT + 1].count()
    return {"matching": min(counted, COUNT_LIMIT), "matching_exact": counted <= COUNT_LIMIT}


def matching_text(snap: "Snapshot") -> str:
    text = count_text(snap.matching)
    return text if snap.matching_exact else f"{text}+"


def status_counts(query: TableQuery) -> dict[str, int]:
    """Tasks per status in the query's owner scope, from the trigger-kept counts."""
    return status_counts_of(query.owner)


def counters(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"status": status.value, "label": status.label, "count": counts[status.value]}
        for status in Status
    ]


def workers_panel(snap: Snapshot) -> dict[str, Any]:
    """Workers and queues. For a user who sees only their own tasks, the busy counts,
    the tasks waiting and the oldest queued task are theirs too (`own_only` labels
    them so): other users' tasks are not theirs to count, nor to date."""
    tasks = snap.query.visible()
    # Counted here rather than by GROUP BY, which SQLite may answer with a table scan
    # when its statistics rate the status index poorly; running tasks are few.
    busy = Counter(tasks.filter(status=Status.STARTED).values_list("worker", flat=True))
    waiting = [queue.oldest for queue in snap.queues if queue.oldest is not None]
    oldest = min(waiting, key=lambda task: task.id, default=None)
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
        "queues": snap.queues,
        "can_steer": "steer_queue" in snap.query.may,
    }


def dashboard_context(snap: Snapshot) -> dict[str, Any]:
    now = timezone.now()
    return {
        "tasks": snap.page.tasks,
        "page": snap.page,
        "query": snap.query,
        "filter_query": snap.query.query_string(before=None, after=None),
        # What "select all matching" acts on: the filter alone, no order or page.
        "bulk_filter": snap.query.query_string(before=None, after=None, sort=None, size=None),
        # The downloads list every page: no position, no page size.
        "download_query": snap.query.query_string(before=None, after=None, size=None),
        "matching": matching_text(snap),
        "matching_count": snap.matching,
        "sort_links": sort_links(snap.query),
        "poll_query": snap.query.query_string(since=snap.version),
        "version": snap.version,
        "poll_seconds": snap.poll_seconds,
        "counters": counters(snap.counts),
        "may": dict.fromkeys(snap.query.may, True),
        "panel": workers_panel(snap),
        "paused_queues": {queue.name for queue in snap.queues if queue.paused},
        "slow": snap.slow,
        "throughput": charts.throughput(snap.query.owner, now),
        "kind_times": charts.run_time_per_kind(snap.query.owner, now),
    } | filters_context(snap.query)


def filters_context(query: TableQuery) -> dict[str, Any]:
    """What the filter form shows: the choices, and the query's own values."""
    return {
        "query": query,
        "statuses": list(Status),
        "kinds": list(Kind),
        "page_sizes": sorted({*PAGE_SIZES, settings.DASHBOARD_PAGE_SIZE}),
        "default_page_size": settings.DASHBOARD_PAGE_SIZE,
    }


def sort_links(query: TableQuery) -> dict[str, dict[str, str]]:
    """For each sortable column header: the query string that sorts by it (or the other
    way round when it already does), and its aria-sort state."""
    columns = {
        "submitted": ("", "oldest"),
        "status": ("status", "-status"),
        "runtime": ("-runtime", "runtime"),  # longest first: what people look for
    }
    links = {}
    for column, (first, second) in columns.items():
        current = query.sort in (first, second)
        target = second if query.sort == first else first
        ascending = query.sort in ("oldest", "status", "runtime")
        links[column] = {
            "query": query.query_string(sort=target, before=None, after=None),
            "aria_sort": ("ascending" if ascending else "descending") if current else "none",
        }
    return links
