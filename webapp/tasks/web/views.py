"""Views that read: the dashboard, the task collection and one task, in every form."""

import logging
import re
import uuid
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import TooManyFieldsSent
from django.db import connection
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_htmx.http import push_url

from webapp.tasks.access import owner_scope, seconds_until_allowed, task_owner, visible_tasks
from webapp.tasks.catalogue import exports
from webapp.tasks.catalogue.entries import InvalidParams, entry_of
from webapp.tasks.models import TaskRecord
from webapp.tasks.running.scheduling import read_run_at
from webapp.tasks.table import live, page
from webapp.tasks.table.query import (
    BadQuery,
    TableQuery,
    on_page,
    poll_version,
    snapshot,
    with_id_prefix,
)
from webapp.tasks.tasks import BrokerUnavailable, launch
from webapp.tasks.templatetags.moments import moment
from webapp.tasks.web import detail_json, timeline
from webapp.tasks.web.catalogue_views import params_refused, run_again_form
from webapp.tasks.web.feedback import messages_oob, tell
from webapp.tasks.web.inputs import read_launch
from webapp.tasks.web.representations import (
    Answer,
    BadInput,
    HttpResponseSeeOther,
    NothingChanged,
    answer_for,
    answered,
    error_response,
    negotiated,
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
    owner = owner_scope(request)
    htmx = getattr(request, "htmx", None)
    current = htmx.current_url if htmx else None
    if from_page and current:
        # The action itself has been done by now; a page URL that can't be read
        # (urlsplit raises on e.g. "http://[::1", QueryDict on too many fields) or
        # holds bad filters only costs the filters, never the answer nor the scope:
        # the unfiltered table of the caller's own tasks is shown instead.
        try:
            return TableQuery.from_params(QueryDict(urlsplit(current).query), owner=owner)
        except (ValueError, TooManyFieldsSent):  # BadQuery too
            return TableQuery(owner=owner)
    try:
        return TableQuery.from_params(request.GET, owner=owner)
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
        if since and since == version:
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


@negotiated("GET")
def dashboard(request: HttpRequest) -> HttpResponse:
    return render_table(request, table_query(request))


@negotiated("GET", "POST")
def task_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return submit_task(request)
    return render_table(request, table_query(request))


def submit_task(request: HttpRequest) -> HttpResponse:
    started = timezone.now()
    try:
        kind, params = read_launch(request)
        run_at = read_run_at(request, entry_of(kind))
    except InvalidParams as exc:
        return params_refused(request, exc)
    if limited := rate_limited(request):
        return limited
    try:
        record = launch(kind, owner=task_owner(request), params=params, run_at=run_at)
    except BrokerUnavailable:
        return error_response(request, 503, BROKER_DOWN)

    def json() -> HttpResponse:
        response = JsonResponse(record.as_json(), status=202)
        response["Location"] = record.url
        return response

    def fragment() -> HttpResponse:
        query = table_query(request, from_page=True)
        tell(request, launched_message(record, query))
        return render_table(request, query, status=201, announce_since=started)

    def page() -> HttpResponse:
        tell(request, launched_message(record, TableQuery(owner=owner_scope(request))))
        return HttpResponseSeeOther(reverse("dashboard"))

    return answered(request, json=json, fragment=fragment, page=page)


def launched_message(record: TaskRecord, query: TableQuery) -> str:
    """Launched (with a link), and why the table does not show it, if it does not."""
    link = format_html('<a href="{}"><code>{}</code></a>', record.url, record.short_id)
    said = format_html("Launched {} task {}.", record.get_kind_display(), link)
    if record.run_at:
        said = format_html(
            "Scheduled {} task {} to run {}.",
            record.get_kind_display(),
            link,
            moment(record.run_at, relative="in"),
        )
    if on_page(query, record.pk):
        return said
    if query.is_filtered and not query.filtered().filter(pk=record.pk).exists():
        return format_html("{} The current filters hide it.", said)
    return format_html("{} It is not on this page of the table.", said)


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
        return visible_tasks(request).select_related("retry_of").get(task_id=uuid.UUID(task_id))
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


def detail_context(request: HttpRequest, record: TaskRecord) -> dict[str, object]:
    events = list(record.events.all())
    return {
        "task": record,
        "retry_of": retry_of_visible(request, record),
        "events": events,
        "times": timeline.durations(record, events),
        "retries": retries_visible(request, record),
        "run_again": run_again_form(record),
        "has_download": exports.missing_file(record) is None,
        "version": record.updated_at.isoformat(),
        "poll_seconds": settings.POLL_ACTIVE_SECONDS,
    }


def render_detail(request: HttpRequest, record: TaskRecord) -> HttpResponse:
    """The task's page, or its htmx fragment (JSON: detail_json.answer)."""
    answer = answer_for(request)
    version = record.updated_at.isoformat()
    if answer is Answer.FRAGMENT and request.GET.get("since") == version:
        return NothingChanged()
    if answer is Answer.PAGE:
        return render(request, "task_detail.html", detail_context(request, record))
    response = render(request, "task_detail.html#task-detail", detail_context(request, record))
    if request.GET.get("since") is None:  # an action, not a poll: say what it did
        response.content += messages_oob(request).encode()
    return response


# The table shows 8 characters of an id; fewer would too often name several tasks.
SHORT_ID = re.compile(r"^[0-9a-fA-F]{8}[0-9a-fA-F-]{0,27}$")


@negotiated("GET")
def task_detail(request: HttpRequest, task_id: str) -> HttpResponse:
    if SHORT_ID.match(task_id) and len(task_id.replace("-", "")) < 32:
        return redirect_short_id(request, task_id)
    if answer_for(request) is Answer.JSON:
        return detail_json.answer(request, task_id)
    return render_detail(request, get_record(request, task_id))


@negotiated("GET")
def download(request: HttpRequest, task_id: str) -> HttpResponse:
    """A finished CSV export's file, to whoever may see the task."""
    record = get_record(request, task_id)
    problem = exports.missing_file(record)
    if problem is not None:
        raise BadInput(problem, status=404)
    try:
        file = exports.path_of(record.task_id).open("rb")
    except FileNotFoundError:  # removed since: its task was deleted just now
        raise BadInput(exports.FILE_GONE.format(id=record.short_id), status=404) from None
    # Streamed, not read into memory; @negotiated only adds its Vary header.
    return FileResponse(  # type: ignore[return-value]
        file, as_attachment=True, filename=f"tasks-{record.short_id}.csv", content_type="text/csv"
    )


def redirect_short_id(request: HttpRequest, prefix: str) -> HttpResponse:
    """A short id, as the table shows it, names the one visible task it starts: a
    302 to that task's URL, for every client (curl -L follows it); 404 if it names
    none or several, saying which."""
    matches = list(
        with_id_prefix(visible_tasks(request), prefix).values_list("task_id", flat=True)[:2]
    )
    if not matches:
        raise BadInput(f"No task id starts with {prefix!r}.", status=404)
    if len(matches) > 1:
        raise BadInput(
            f"Several tasks have ids starting with {prefix!r}; use more of the id.",
            status=404,
        )
    return HttpResponseRedirect(reverse("tasks:detail", args=[matches[0]]))


# --- Health and errors -----------------------------------------------------------------


@login_not_required
def health(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and container health checks: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400, "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403, "You may not do that.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, f"Nothing lives at {request.path[:80]!r}.")


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500, "Something went wrong on our side; it has been logged.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    logger.warning("CSRF check failed for %s: %s", request.path, reason)
    return error_response(
        request,
        403,
        "This form was refused because it did not come from this dashboard "
        "(cross-site request check failed). Reload the page and try again.",
    )
