"""What the views answer with, shared by the reading views (views.py) and the acting
ones (actions, clearing, queue_views, schedule_views, bulk_views): the table as a
fragment or the live poll's answer, the task's detail, the one way a request gets its
table query (with its owner scope), the submission rate limit's 429, the broker's 503."""

import logging
import uuid
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import render
from django_htmx.http import push_url

from webapp.tasks.access.roles import may_codes
from webapp.tasks.access.scope import owner_scope, visible_tasks
from webapp.tasks.access.throttle import seconds_until_allowed
from webapp.tasks.catalogue import exports
from webapp.tasks.models import TaskRecord
from webapp.tasks.running import output
from webapp.tasks.table import live, page
from webapp.tasks.table.query import (
    BadQuery,
    TableQuery,
    poll_version,
    snapshot,
)
from webapp.tasks.web import bulk_progress, detail_json, timeline
from webapp.tasks.web.catalogue_views import run_again_form
from webapp.tasks.web.feedback import messages_oob
from webapp.tasks.web.representations import (
    Answer,
    BadInput,
    NothingChanged,
    answer_for,
    error_response,
)

logger = logging.getLogger(__name__)


BROKER_DOWN = (
    "The task queue is not reachable right now, so nothing was done. Try again in a moment."
)


# --- The task table ----------------------------------------------------------------


def table_query(request: HttpRequest, from_page: bool = False) -> TableQuery:
    """The table this request may see (its owner scope), with the filters of the
    request, or for an action posted from the dashboard by htmx, those of the page
    it was posted from. The only place a view gets a TableQuery."""
    owner, may = owner_scope(request), may_codes(request)
    htmx = getattr(request, "htmx", None)
    current = htmx.current_url if htmx else None
    if from_page and current:
        # The action itself has been done by now; a page URL that can't be read
        # (urlsplit raises on e.g. "http://[::1", QueryDict on too many fields) or
        # holds bad filters only costs the filters, never the answer nor the scope:
        # the unfiltered table of the caller's own tasks is shown instead.
        try:
            return TableQuery.from_params(QueryDict(urlsplit(current).query), owner=owner, may=may)
        except (ValueError, TooManyFieldsSent):  # BadQuery too
            return TableQuery(owner=owner, may=may)
    try:
        return TableQuery.from_params(request.GET, owner=owner, may=may)
    except BadQuery as exc:
        raise BadInput(str(exc)) from None


def render_table(
    request: HttpRequest,
    query: TableQuery,
    status: int = 200,
    announce_since: datetime | None = None,
    extra: str = "",
) -> HttpResponse:
    """The task table in the request's form. `announce_since`: an action's start, so
    the fragment also announces what the action (and any quick worker) changed;
    `extra`: more of the fragment's own HTML (out-of-band parts), put in before it is
    compressed, as anything added to it must be."""
    answer = answer_for(request)
    since = request.GET.get("since")
    if answer is Answer.FRAGMENT:
        version = poll_version(query)
        # A poll that follows a bulk action wants its progress even while the table
        # shows no change.
        if since and since == version and not bulk_progress.followed_job(request):
            return NothingChanged()  # nothing visible changed
        return render_live(request, query, version, since, status, announce_since, extra)
    if answer is Answer.PAGE:
        if status == 200 and request.method in ("GET", "HEAD"):
            return page.dashboard_page(request, query)
        return page.full_page(request, query, status)
    snap = snapshot(query, with_queues=False)
    return JsonResponse(
        {
            "tasks": [task.as_json() for task in snap.page.tasks],
            "counts": snap.counts,
            "older": f"/tasks/?{snap.page.older_query}" if snap.page.older_query else None,
            "matching": snap.matching,
            "matching_exact": snap.matching_exact,
        },
        status=status,
    )


def render_live(
    request: HttpRequest,
    query: TableQuery,
    version: str,
    since: str | None,
    status: int,
    announce_since: datetime | None = None,
    extra: str = "",
) -> HttpResponse:
    """The live fragment: shared by every dashboard with these filters, plus what
    is this request's own (announcements, the filter form on navigation, `extra`)."""
    entry, since_seen = live.shared_fragment(request, query, version, since)
    if since_seen is not None:
        news = live.announcements(entry, since_seen, since_version=since)
    else:  # an action's answer: what it (and any quick worker) changed
        news = live.announcements(entry, announce_since)
    own = [live.announcer(news)]
    if since is None:
        own.append(messages_oob(request))
    # Navigation (counters, pager, back) brings the filter form along; polls and the
    # form's own requests leave it alone, so typing is never interrupted.
    navigation = request.method == "GET" and since is None
    if navigation and htmx_trigger(request) != "filters":
        own.append(live.filters_form(query))
    if extra:
        own.append(extra)
    own.append(bulk_progress.progress_oob(request))  # this reader's own job, never shared
    response = live.response(request, entry, own, status)
    if navigation:
        # Filters and paging put the canonical URL in the address bar (bookmarks,
        # back button), without the empty fields a form sends.
        query_string = query.query_string()
        push_url(response, f"/?{query_string}" if query_string else "/")
    return response


def htmx_trigger(request: HttpRequest) -> str | None:
    htmx = getattr(request, "htmx", None)
    return htmx.trigger if htmx else None


def rate_limited(request: HttpRequest) -> HttpResponse | None:
    """A 429 answer if this client submitted too much lately, else None."""
    wait = seconds_until_allowed(request)
    if wait is None:
        return None
    response = error_response(
        request, 429, f"Too many tasks launched from here; try again in {wait} s."
    )
    response["Retry-After"] = str(wait)
    return response


# --- One task ------------------------------------------------------------------------


def get_record(request: HttpRequest, task_id: str) -> TaskRecord:
    """The task with this id, if this request may see it, or a 404 whose message says
    which id was not found (the same whether it does not exist or is someone else's)."""
    try:
        return (
            visible_tasks(request)
            .select_related("retry_of", "output")
            .get(task_id=uuid.UUID(task_id))
        )
    except (ValueError, TaskRecord.DoesNotExist):
        raise detail_json.not_found(task_id) from None


def retry_of_visible(request: HttpRequest, record: TaskRecord) -> TaskRecord | None:
    """The task this one retries, if this request may see it."""
    if record.retry_of_id is None:
        return None
    if not visible_tasks(request).filter(pk=record.retry_of_id).exists():
        return None
    return record.retry_of


def retries_visible(request: HttpRequest, record: TaskRecord) -> list[TaskRecord]:
    """The retries of this task that this request may see: a staff member may retry
    anyone's task, and that retry is theirs, not the original owner's."""
    return list(visible_tasks(request).filter(retry_of=record))


def task_json(request: HttpRequest, record: TaskRecord) -> dict[str, object]:
    """A task as JSON, naming only the related tasks this request may see."""
    retry_of = retry_of_visible(request, record)
    return record.as_json() | {"retry_of": str(retry_of.task_id) if retry_of else None}


def detail_context(
    request: HttpRequest, record: TaskRecord, shown: output.Output
) -> dict[str, object]:
    events = list(record.events.all())
    return {
        "task": record,
        "retry_of": retry_of_visible(request, record),
        "events": events,
        "times": timeline.durations(record, events),
        "retries": retries_visible(request, record),
        "run_again": run_again_form(record),
        "has_download": exports.missing_file(record) is None,
        "version": detail_version(record, shown),
        "poll_seconds": settings.POLL_ACTIVE_SECONDS,
        "output": shown,
        # A finished task polls on while its last lines of output are on their way.
        "polls": not record.is_finished or shown.settling,
    }


def detail_version(record: TaskRecord, shown: output.Output) -> str:
    """What the page's poll sends back as `since`: the record's change and its
    output's, which change apart (a line logged is no write to the record)."""
    return f"{record.updated_at.isoformat()}~{shown.version}"


def render_detail(request: HttpRequest, record: TaskRecord) -> HttpResponse:
    """The task's page, or its htmx fragment (JSON: detail_json.answer)."""
    answer = answer_for(request)
    shown = output.shown(record)
    if answer is Answer.FRAGMENT and request.GET.get("since") == detail_version(record, shown):
        return NothingChanged()
    context = detail_context(request, record, shown)
    if answer is Answer.PAGE:
        return render(request, "task_detail.html", context)
    response = render(request, "task_detail.html#task-detail", context)
    if request.GET.get("since") is None:  # an action, not a poll: say what it did
        response.content += messages_oob(request).encode()
    return response
