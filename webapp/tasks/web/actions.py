"""Views that steer: cancel, retry or delete one task, and clear the finished ones.

Every action answers in the caller's form: JSON for scripts, a fresh fragment for
htmx (the table, or the detail panel it was clicked in), and post/redirect/get for
a plain form. Impossible actions are 409 with a message; a destructive one posted
by a plain form first shows a confirmation page (htmx asks with hx-confirm).
"""

from datetime import datetime

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from webapp.tasks.access import task_owner, visible_tasks
from webapp.tasks.catalogue import exports
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import TaskRecord
from webapp.tasks.running import scheduling
from webapp.tasks.tasks import BrokerUnavailable, cancel, launch
from webapp.tasks.web import clearing
from webapp.tasks.web.feedback import tell
from webapp.tasks.web.inputs import read_field
from webapp.tasks.web.representations import (
    Answer,
    BadInput,
    HttpResponseSeeOther,
    answer_for,
    answered,
    error_response,
    negotiated,
)
from webapp.tasks.web.views import (
    BROKER_DOWN,
    get_record,
    rate_limited,
    render_detail,
    render_table,
    table_query,
    task_json,
)


def next_url(request: HttpRequest, default: str) -> str:
    """Where a plain form goes back to: its `next` field if it is a path on this site."""
    try:
        target = request.POST.get("next", "") if request.content_type != "application/json" else ""
    except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, MultiPartParserError):
        target = ""  # the action is done; a body Django refuses only costs the way back
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return default


def from_detail_panel(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if htmx is None or answer_for(request) is not Answer.FRAGMENT:
        return False
    return bool(htmx.target == "task-detail")


def needs_confirmation(request: HttpRequest) -> bool:
    return answer_for(request) is Answer.PAGE and read_field(request, "confirm") != "yes"


def confirm_page(request: HttpRequest, question: str, button: str) -> HttpResponse:
    context = {
        "question": question,
        "button": button,
        "action": request.path,
        "next": next_url(request, reverse("dashboard")),
    }
    return render(request, "confirm.html", context)


def after_change(
    request: HttpRequest, record: TaskRecord, started: datetime, json_status: int = 200
) -> HttpResponse:
    """The answer to an action that changed `record`, in the caller's form."""

    def fragment() -> HttpResponse:
        if from_detail_panel(request):
            return render_detail(request, record)
        query = table_query(request, from_page=True)
        return render_table(request, query, announce_since=started)

    return answered(
        request,
        json=lambda: JsonResponse(task_json(request, record), status=json_status),
        fragment=fragment,
        page=lambda: HttpResponseSeeOther(next_url(request, reverse("dashboard"))),
    )


@negotiated("POST")
def cancel_task(request: HttpRequest, task_id: str) -> HttpResponse:
    started = timezone.now()
    record = get_record(request, task_id)
    if not record.can_cancel:
        raise BadInput(
            f"Task {record.short_id} already finished ({record.status}); "
            "there is nothing to cancel.",
            status=409,
        )
    try:
        cancelled = cancel(record)
    except BrokerUnavailable:
        return error_response(request, 503, BROKER_DOWN)
    record.refresh_from_db()
    if not cancelled:
        raise BadInput(
            f"Task {record.short_id} finished ({record.status}) before it could be cancelled.",
            status=409,
        )
    when = "while it ran" if record.started_at else "before it started"
    tell(request, f"Cancelled {record.get_kind_display()} task {record.short_id} {when}.")
    return after_change(request, record, started)


@negotiated("POST")
def run_now_task(request: HttpRequest, task_id: str) -> HttpResponse:
    """Publish a scheduled task now, ahead of its time."""
    started = timezone.now()
    record = get_record(request, task_id)
    if not record.can_run_now:
        raise BadInput(
            f"Task {record.short_id} is {record.status}, not scheduled; "
            "only a scheduled task can be run now.",
            status=409,
        )
    try:
        published = scheduling.run_now(record)
    except BrokerUnavailable:
        return error_response(request, 503, BROKER_DOWN)
    record.refresh_from_db()
    if not published:
        raise BadInput(
            f"Task {record.short_id} left the schedule ({record.status}) before it could "
            "be run now.",
            status=409,
        )
    kind = record.get_kind_display()
    tell(request, f"Queued {kind} task {record.short_id} now, ahead of its time.")
    return after_change(request, record, started)


@negotiated("POST")
def retry_task(request: HttpRequest, task_id: str) -> HttpResponse:
    started = timezone.now()
    record = get_record(request, task_id)
    if record.kind is None:
        raise BadInput(
            f"Task {record.short_id} ({record.name}) was published outside the dashboard: "
            "send it again from where it came from.",
            status=409,
        )
    if not record.can_retry:
        raise BadInput(
            f"Only failed or cancelled tasks can be retried; task {record.short_id} "
            f"is {record.status}.",
            status=409,
        )
    if limited := rate_limited(request):
        return limited
    try:
        new = launch(
            Kind(record.kind), retry_of=record, owner=task_owner(request), params=record.params
        )
    except BrokerUnavailable:
        return error_response(request, 503, BROKER_DOWN)
    new_url = reverse("tasks:detail", args=[new.task_id])
    tell(
        request,
        format_html(
            'Retried {} task {} as <a href="{}"><code>{}</code></a>.',
            record.get_kind_display(),
            record.short_id,
            new_url,
            new.short_id,
        ),
    )

    def json() -> HttpResponse:
        response = JsonResponse(new.as_json(), status=202)
        response["Location"] = new_url
        return response

    def fragment() -> HttpResponse:
        if from_detail_panel(request):
            return HttpResponseClientRedirect(new_url)
        query = table_query(request, from_page=True)
        return render_table(request, query, status=201, announce_since=started)

    return answered(
        request,
        json=json,
        fragment=fragment,
        page=lambda: HttpResponseSeeOther(next_url(request, new_url)),
    )


@negotiated("POST")
def delete_task(request: HttpRequest, task_id: str) -> HttpResponse:
    record = get_record(request, task_id)
    if not record.can_delete:
        raise BadInput(
            f"Task {record.short_id} is {record.status}; cancel it before deleting it.",
            status=409,
        )
    if needs_confirmation(request):
        return confirm_page(
            request,
            f"Delete {record.get_kind_display()} task {record.short_id} ({record.status})? "
            "Its history is gone for good.",
            "Delete task",
        )
    record.delete()
    if record.kind == Kind.EXPORT:
        exports.remove_files([record.task_id])
    tell(request, f"Deleted {record.get_kind_display()} task {record.short_id}.")

    def fragment() -> HttpResponse:
        if from_detail_panel(request):
            return HttpResponseClientRedirect(reverse("dashboard"))
        return render_table(request, table_query(request, from_page=True))

    def page() -> HttpResponse:
        # Not back to the page of the task just deleted.
        dashboard = reverse("dashboard")
        target = next_url(request, dashboard)
        return HttpResponseSeeOther(dashboard if str(record.task_id) in target else target)

    return answered(
        request,
        json=lambda: JsonResponse({"deleted": str(record.task_id)}),
        fragment=fragment,
        page=page,
    )


@negotiated("POST")
def clear_finished(request: HttpRequest) -> HttpResponse:
    if needs_confirmation(request):
        return confirm_page(
            request,
            "Delete every finished task (succeeded, failed and cancelled) from the "
            "history? Pending and running tasks stay.",
            "Clear finished tasks",
        )
    return clearing.clear(request, visible_tasks(request), next_url(request, reverse("dashboard")))
