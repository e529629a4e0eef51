"""Periodic schedules on the web: the list with a form to add one, one schedule with
its runs and a form to edit it, and its actions (run now, enable, disable, delete).

JSON for scripts, pages for browsers (post/redirect/get; a refused form comes back
with each error next to its field), chosen by web/representations.py. Who sees which
schedules is access.visible_schedules; their runs are their owner's tasks.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django_htmx.http import HttpResponseClientRedirect

from webapp.tasks.access import task_owner, visible_schedules, visible_tasks
from webapp.tasks.catalogue.entries import entries, entry_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Schedule
from webapp.tasks.running import schedules
from webapp.tasks.tasks import BrokerUnavailable
from webapp.tasks.web.actions import confirm_page, needs_confirmation
from webapp.tasks.web.catalogue_views import LaunchForm, launch_form
from webapp.tasks.web.feedback import tell
from webapp.tasks.web.inputs import parse_kind
from webapp.tasks.web.representations import (
    Answer,
    BadInput,
    HttpResponseSeeOther,
    answer_for,
    error_response,
    negotiated,
    query_param,
)
from webapp.tasks.web.views import BROKER_DOWN, rate_limited


@dataclass(frozen=True)
class ScheduleForm:
    """The add or edit form: an entry's parameters and the cadence, as typed."""

    params: LaunchForm
    every: str
    period: str
    cron: str
    errors: dict[str, str]
    action: str
    button: str
    periods: tuple[str, ...] = schedules.PERIODS

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


def schedule_form(
    kind: Kind,
    action: str,
    button: str,
    current: Schedule | None = None,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> ScheduleForm:
    entry = entry_of(kind)
    every, period, cron = schedules.cadence_of(current.periodic_task) if current else (None, "", "")
    values: dict[str, Any] = dict(current.params) if current and current.kind == kind else {}
    cadence = {"every": str(every or ""), "period": period or "seconds", "cron": cron}
    if typed is not None:
        values = {k: v for k, v in typed.items() if k not in schedules.SCHEDULE_FIELDS}
        cadence |= {k: str(typed[k]) for k in cadence if k in typed}
    errors = errors or {}
    return ScheduleForm(
        params=launch_form(entry, values, errors, prefix="schedule"),
        every=cadence["every"],
        period=cadence["period"],
        cron=cadence["cron"],
        errors=errors,
        action=action,
        button=button,
    )


def chosen_kind(request: HttpRequest, default: Kind) -> Kind:
    """The entry a form is for: `?type=` (the page's entry picker), else `default`."""
    raw = query_param(request, "type")
    return default if raw is None else parse_kind(raw)


def listed(request: HttpRequest) -> QuerySet[Schedule]:
    return schedules.with_last_run(visible_schedules(request))


def get_schedule(request: HttpRequest, schedule_id: str) -> Schedule:
    """The schedule with this id, if this request may see it; a 404 otherwise (the
    same whether it does not exist or is someone else's)."""
    found = None
    if schedule_id.isascii() and schedule_id.isdigit() and len(schedule_id) < 12:
        found = listed(request).filter(pk=int(schedule_id)).first()
    if found is None:
        shown = schedule_id if len(schedule_id) <= 40 else schedule_id[:40] + "…"
        raise BadInput(f"There is no schedule with id {shown!r}.", status=404)
    return found


def typed_values(request: HttpRequest) -> dict[str, Any]:
    """A refused form's fields as typed, to show them again."""
    if request.content_type == "application/json":
        return {}
    return {k: v for k, v in request.POST.items() if k not in schedules.FORM_ONLY_FIELDS}


def refused(
    request: HttpRequest, exc: schedules.ScheduleRefused, page: str, context: dict[str, Any]
) -> HttpResponse:
    """A schedule refused: each field's error for JSON, the form again for a browser."""
    if answer_for(request) is not Answer.PAGE:
        return error_response(request, 400, exc.message, errors=exc.errors)
    return render(request, page, context, status=400)


def went_to(request: HttpRequest, target: str) -> HttpResponse:
    """After a browser's action: post/redirect/get (htmx: the same, client side)."""
    if answer_for(request) is Answer.FRAGMENT:
        return HttpResponseClientRedirect(target)
    return HttpResponseSeeOther(target)


# --- The collection ---------------------------------------------------------------------


def list_page(request: HttpRequest, form: ScheduleForm, status: int = 200) -> HttpResponse:
    context = {
        "schedules": [(s, schedules.next_run_at(s)) for s in listed(request)],
        "form": form,
        "entries": entries(),
    }
    return render(request, "schedules.html", context, status=status)


@negotiated("GET", "POST")
def schedule_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return create_schedule(request)
    if answer_for(request) is Answer.JSON:
        return JsonResponse({"schedules": [schedules.schedule_json(s) for s in listed(request)]})
    kind = chosen_kind(request, Kind.INSTANT)
    return list_page(request, schedule_form(kind, request.path, "Add schedule"))


def create_schedule(request: HttpRequest) -> HttpResponse:
    try:
        data = schedules.checked(schedules.read_sent(request), current=None)
    except schedules.ScheduleRefused as exc:
        typed = typed_values(request)
        try:
            kind = parse_kind(typed.get("type"))
        except BadInput:
            kind = Kind.INSTANT
        form = schedule_form(kind, request.path, "Add schedule", typed=typed, errors=exc.errors)
        if answer_for(request) is not Answer.PAGE:
            return error_response(request, 400, exc.message, errors=exc.errors)
        return list_page(request, form, status=400)
    schedule = schedules.save_schedule(data, owner=task_owner(request))
    schedule = listed(request).get(pk=schedule.pk)
    if answer_for(request) is Answer.JSON:
        response = JsonResponse(schedules.schedule_json(schedule), status=201)
        response["Location"] = schedule.url
        return response
    tell(
        request,
        format_html(
            'Added <a href="{}">schedule {}</a>: {} {}.',
            schedule.url,
            schedule.pk,
            schedule.get_kind_display(),
            schedules.describe_cadence(schedule),
        ),
    )
    return went_to(request, reverse("schedules:collection"))


# --- One schedule -----------------------------------------------------------------------


def detail_context(
    request: HttpRequest, schedule: Schedule, form: ScheduleForm | None = None
) -> dict[str, Any]:
    if form is None:
        kind = chosen_kind(request, Kind(schedule.kind))
        form = schedule_form(kind, request.path, "Save changes", current=schedule)
    return {
        "schedule": schedule,
        "next_run_at": schedules.next_run_at(schedule),
        "cadence": schedules.describe_cadence(schedule),
        "runs": recent_runs(request, schedule),
        "form": form,
        "entries": entries(),
    }


def recent_runs(request: HttpRequest, schedule: Schedule) -> list[Any]:
    return list(visible_tasks(request).filter(schedule=schedule)[: schedules.RECENT_RUNS])


@negotiated("GET", "POST", "DELETE")
def schedule_detail(request: HttpRequest, schedule_id: str) -> HttpResponse:
    schedule = get_schedule(request, schedule_id)
    if request.method == "DELETE":
        return deleted(request, schedule)
    if request.method == "POST":
        return edit_schedule(request, schedule)
    if answer_for(request) is Answer.JSON:
        runs = recent_runs(request, schedule)
        return JsonResponse(schedules.schedule_json(schedule, runs))
    return render(request, "schedule_detail.html", detail_context(request, schedule))


def edit_schedule(request: HttpRequest, schedule: Schedule) -> HttpResponse:
    try:
        data = schedules.checked(schedules.read_sent(request), current=schedule)
    except schedules.ScheduleRefused as exc:
        typed = typed_values(request)
        try:
            kind = parse_kind(typed.get("type", schedule.kind))
        except BadInput:
            kind = Kind(schedule.kind)
        form = schedule_form(
            kind, request.path, "Save changes", schedule, typed=typed, errors=exc.errors
        )
        return refused(
            request, exc, "schedule_detail.html", detail_context(request, schedule, form)
        )
    schedules.save_schedule(data, current=schedule)
    schedule = get_schedule(request, str(schedule.pk))
    if answer_for(request) is Answer.JSON:
        return JsonResponse(schedules.schedule_json(schedule))
    tell(request, f"Saved schedule {schedule.pk}: {schedules.describe_cadence(schedule)}.")
    return went_to(request, schedule.url)


def deleted(request: HttpRequest, schedule: Schedule) -> HttpResponse:
    schedules.delete_schedule(schedule)
    if answer_for(request) is Answer.JSON:
        return JsonResponse({"deleted": schedule.pk})
    tell(request, f"Deleted schedule {schedule.pk}; its runs stay in the task list.")
    return went_to(request, reverse("schedules:collection"))


@negotiated("POST")
def delete_schedule(request: HttpRequest, schedule_id: str) -> HttpResponse:
    schedule = get_schedule(request, schedule_id)
    if needs_confirmation(request):
        return confirm_page(
            request,
            f"Delete schedule {schedule.pk} ({schedule.get_kind_display()}, "
            f"{schedules.describe_cadence(schedule)})? Its runs stay in the task list.",
            "Delete schedule",
        )
    return deleted(request, schedule)


@negotiated("POST")
def run_schedule(request: HttpRequest, schedule_id: str) -> HttpResponse:
    schedule = get_schedule(request, schedule_id)
    if limited := rate_limited(request):
        return limited
    try:
        record = schedules.run_now(schedule)
    except BrokerUnavailable:
        return error_response(request, 503, BROKER_DOWN)
    if answer_for(request) is Answer.JSON:
        response = JsonResponse(record.as_json(), status=202)
        response["Location"] = record.url
        return response
    tell(
        request,
        format_html(
            'Ran schedule {} now as <a href="{}"><code>{}</code></a>.',
            schedule.pk,
            record.url,
            record.short_id,
        ),
    )
    return went_to(request, schedule.url)


def switched(request: HttpRequest, schedule_id: str, enabled: bool) -> HttpResponse:
    schedule = get_schedule(request, schedule_id)
    schedules.set_enabled(schedule, enabled)
    if answer_for(request) is Answer.JSON:
        return JsonResponse(schedules.schedule_json(get_schedule(request, schedule_id)))
    tell(request, f"{'Enabled' if enabled else 'Disabled'} schedule {schedule.pk}.")
    return went_to(request, schedule.url)


@negotiated("POST")
def enable_schedule(request: HttpRequest, schedule_id: str) -> HttpResponse:
    return switched(request, schedule_id, enabled=True)


@negotiated("POST")
def disable_schedule(request: HttpRequest, schedule_id: str) -> HttpResponse:
    return switched(request, schedule_id, enabled=False)
