"""Views that read: the dashboard, the task collection and one task, in every form."""

import logging
import re

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from webapp.tasks.access.roles import requires
from webapp.tasks.access.scope import owner_scope, task_owner, visible_tasks
from webapp.tasks.catalogue import exports
from webapp.tasks.catalogue.entries import InvalidParams, entry_of
from webapp.tasks.models import AuditAction, TaskRecord
from webapp.tasks.running.scheduling import read_run_at
from webapp.tasks.table.query import (
    TableQuery,
    on_page,
    with_id_prefix,
)
from webapp.tasks.tasks import BrokerUnavailable, launch
from webapp.tasks.templatetags.moments import moment
from webapp.tasks.web import audit, detail_json, stream_export
from webapp.tasks.web.answers import (
    BROKER_DOWN,
    get_record,
    rate_limited,
    render_detail,
    render_table,
    table_query,
)
from webapp.tasks.web.catalogue_views import params_refused
from webapp.tasks.web.feedback import tell
from webapp.tasks.web.inputs import read_launch
from webapp.tasks.web.representations import (
    Answer,
    BadInput,
    HttpResponseSeeOther,
    answer_for,
    answered,
    error_response,
    list_answer,
    negotiated,
)

logger = logging.getLogger(__name__)


def read_list(request: HttpRequest) -> HttpResponseBase:
    """The task list as read (GET): the table in the request's form, or all of it as
    the file it asked for (CSV, JSON Lines)."""
    query = table_query(request)
    answer = list_answer(request)
    if answer in stream_export.FILE_FORMATS:
        return stream_export.download(request, query, answer)
    return render_table(request, query)


@negotiated("GET")
def dashboard(request: HttpRequest) -> HttpResponseBase:
    return read_list(request)


@negotiated("GET", "POST")
@requires("tasks.launch_task", methods=("POST",))
def task_collection(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        return submit_task(request)
    return read_list(request)


def submit_task(request: HttpRequest) -> HttpResponse:
    started = timezone.now()
    try:
        kind, params = read_launch(request)
        run_at = read_run_at(request, entry_of(kind))
    except InvalidParams as exc:
        return params_refused(request, exc)
    if limited := rate_limited(request):
        return limited
    entry = audit.entry_for(request, AuditAction.LAUNCH, kind=kind.label)
    try:
        record = launch(kind, owner=task_owner(request), params=params, run_at=run_at, audit=entry)
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
