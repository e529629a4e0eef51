"""The web side of bulk actions: `POST /tasks/bulk/` (ids or a filter, a confirmation
stating the count, then a job) and `GET /tasks/bulk/<id>/` (its progress), in every
form; and the progress line the dashboard's poll brings along.

The progress is this user's own, so it never goes into the shared live fragment:
the poll names the job (`bulk=<id>`, from an input beside the table that htmx
includes) and gets the line appended out of band, as its other own parts.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from webapp.tasks import bulk
from webapp.tasks.access import owner_scope, task_owner, visible_bulk_jobs
from webapp.tasks.actions import next_url
from webapp.tasks.bulk import Selection
from webapp.tasks.inputs import form_values, json_object, read_field
from webapp.tasks.models import BulkJob
from webapp.tasks.publishing import BrokerUnavailable
from webapp.tasks.representations import (
    Answer,
    BadInput,
    HttpResponseSeeOther,
    answer_for,
    answered,
    error_response,
    negotiated,
)
from webapp.tasks.views import BROKER_DOWN

JSON_FIELDS = {"action", "ids", "filter"}


def read_selection(request: HttpRequest) -> Selection:
    """What the request asks for: a JSON object `{"action", "ids" | "filter"}`, or the
    dashboard's form (the ticked rows' `ids`, or `scope=filter` with the filter)."""
    if request.content_type == "application/json":
        read_field(request, "action")  # refuses a body too large to read
        body = json_object(request, "action")
        if unknown := sorted(set(body) - JSON_FIELDS - {"confirm"}):
            raise BadInput(f"Unknown field `{unknown[0][:20]}`; send action, and ids or filter.")
        action = bulk.parse_action(body.get("action"))
        ids, selected_filter = body.get("ids"), body.get("filter")
        if ids is not None and selected_filter is not None:
            raise BadInput("Send `ids` or `filter`, not both.")
        if ids is not None:
            if not isinstance(ids, list):
                raise BadInput("`ids` must be a list of task ids.")
            if not ids:
                raise BadInput("`ids` is empty: list at least one task id.")
            return Selection(action, ids=bulk.parse_ids(ids))
        if selected_filter is not None:
            if not isinstance(selected_filter, dict):
                raise BadInput('`filter` must be an object such as {"status": "FAILURE"}.')
            return Selection(action, filter=bulk.parse_filter(selected_filter))
        raise BadInput(
            'Say which tasks: `ids` (a list of task ids) or `filter` (e.g. {"status": "FAILURE"}).'
        )
    action = bulk.parse_action(read_field(request, "action"))
    if read_field(request, "scope") == "filter":
        return Selection(action, filter=bulk.parse_filter(read_field(request, "filter") or ""))
    ids = bulk.parse_ids(list(form_values(request, "ids")))
    if not ids:
        raise BadInput('No task selected: tick some rows, or "select all tasks matching".')
    return Selection(action, ids=ids)


@negotiated("POST")
def bulk_actions(request: HttpRequest) -> HttpResponse:
    selection = read_selection(request)
    scope = owner_scope(request)
    answer = answer_for(request)
    if answer is not Answer.JSON and read_field(request, "confirm") != "yes":
        return confirmation(request, selection, bulk.count_selected(selection, scope))
    try:
        job = bulk.start(selection, scope, task_owner(request))
    except BrokerUnavailable:
        return error_response(request, 503, BROKER_DOWN)

    def json() -> HttpResponse:
        response = JsonResponse(bulk.as_json(job), status=202)
        response["Location"] = job.url
        return response

    def fragment() -> HttpResponse:
        return HttpResponse(bulk.status_region(request, job), status=202)

    return answered(
        request, json=json, fragment=fragment, page=lambda: HttpResponseSeeOther(job.url)
    )


def confirmation(request: HttpRequest, selection: Selection, count: int) -> HttpResponse:
    """ "Cancel 8 412 tasks?", with a form that sends the same selection confirmed: in
    the dashboard's status region for htmx, as a page of its own without JavaScript."""
    if count == 0:
        raise BadInput("None of the selected tasks is there any more: nothing to do.", status=409)
    context: dict[str, Any] = {
        "question": selection.question(count),
        "button": f"{bulk.VERBS[BulkJob.Action(selection.action)][0]} {bulk.tasks_text(count)}",
        "selection": selection,
        "ids": ",".join(selection.ids or ()),
        "next": next_url(request, reverse("dashboard")),
    }
    if answer_for(request) is Answer.FRAGMENT:
        return render(request, "dashboard.html#bulk-status", context)
    return render(request, "bulk.html", context)


def get_job(request: HttpRequest, job_id: str) -> BulkJob:
    job = visible_bulk_jobs(request).filter(pk=int(job_id)).first() if job_id.isdigit() else None
    if job is None:
        raise BadInput(f"There is no bulk action {job_id[:20]!r}.", status=404)
    return job


@negotiated("GET")
def bulk_job(request: HttpRequest, job_id: str) -> HttpResponse:
    job = get_job(request, job_id[:19])

    def page() -> HttpResponse:
        context = {"job": job, "progress": bulk.progress_text(job), "plain": True}
        return render(request, "bulk.html", context)

    return answered(
        request,
        json=lambda: JsonResponse(bulk.as_json(job)),
        fragment=lambda: HttpResponse(bulk.status_region(request, job)),
        page=page,
    )
