"""The web side of bulk actions: reading a selection (ids or a filter, from JSON or
the dashboard's form), `POST /tasks/bulk/` (a confirmation stating the count, then a
job) and `GET /tasks/bulk/<id>/` (its progress), in every form."""

import uuid
from typing import Any, NoReturn

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse

from webapp.tasks.access.roles import requires
from webapp.tasks.access.scope import owner_scope, task_owner, visible_bulk_jobs
from webapp.tasks.models import AuditAction, BulkJob
from webapp.tasks.running import bulk
from webapp.tasks.running.bulk import Selection
from webapp.tasks.running.publishing import BrokerUnavailable
from webapp.tasks.table.query import BadQuery, TableQuery
from webapp.tasks.web import audit
from webapp.tasks.web.actions import next_url
from webapp.tasks.web.answers import BROKER_DOWN, rate_limited
from webapp.tasks.web.bulk_progress import VERBS, as_json, progress_text, status_region, tasks_text
from webapp.tasks.web.inputs import form_values, json_object, read_field
from webapp.tasks.web.representations import (
    Answer,
    BadInput,
    HttpResponseSeeOther,
    answer_for,
    answered,
    error_response,
    negotiated,
)

JSON_FIELDS = {"action", "ids", "filter"}


def parse_action(raw: object) -> str:
    if raw in BulkJob.Action.values:
        return str(raw)
    accepted = ", ".join(BulkJob.Action.values)
    if raw in (None, ""):
        _refuse(f"The field `action` is missing; it must be one of {accepted}.")
    _refuse(f"`action` must be one of {accepted}, not {str(raw)[:20]!r}.")


def parse_ids(values: list[object]) -> tuple[str, ...]:
    """Task ids, each a UUID; a form field may hold several, comma-separated (the
    "select all on this page" box carries the page's ids so)."""
    ids: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str):
            _refuse("`ids` must be a list of task ids (strings).")
        for part in value.split(","):
            if not (text := part.strip()):
                continue
            try:
                ids[str(uuid.UUID(text))] = None
            except ValueError:
                _refuse(f"{text[:40]!r} in `ids` is not a task id.")
            if len(ids) > bulk.MAX_IDS:
                _refuse(
                    f"Too many ids: send at most {bulk.MAX_IDS} per request, "
                    "or select the tasks by a filter."
                )
    return tuple(ids)


def parse_filter(raw: object) -> str:
    """A filter as a query string of the table's filter parameters, checked as the
    table checks them; from JSON an object, from a form the query string itself."""
    if isinstance(raw, dict):
        params = QueryDict(mutable=True)
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                _refuse(f"The filter's `{str(key)[:20]}` must be a string.")
            params[key] = str(value)
    elif isinstance(raw, str):
        if len(raw) > 200:
            _refuse("The filter is too long.")
        params = QueryDict(raw, mutable=True)
    else:
        _refuse('`filter` must be an object such as {"status": "FAILURE", "q": "3fa8"}.')
    if unknown := sorted(key for key in params if key not in bulk.FILTER_FIELDS):
        _refuse(f"The filter takes {', '.join(bulk.FILTER_FIELDS)}; not {unknown[0][:20]!r}.")
    try:
        TableQuery.from_params(params, owner=None)
    except BadQuery as exc:
        _refuse(f"Bad filter: {exc}")
    kept = {key: str(params.get(key, "")).strip() for key in bulk.FILTER_FIELDS}
    encoded = QueryDict(mutable=True)
    encoded.update({key: value for key, value in kept.items() if value})
    return encoded.urlencode()


def _refuse(message: str) -> NoReturn:
    raise BadInput(message)


def question(selection: Selection, count: int) -> str:
    """The confirmation: "Cancel 8 412 tasks?"."""
    verb = VERBS[BulkJob.Action(selection.action)][0]
    which = " matching the filter" if selection.ids is None and selection.filter else ""
    return f"{verb} {tasks_text(count)}{which}?"


def read_selection(request: HttpRequest) -> Selection:
    """What the request asks for: a JSON object `{"action", "ids" | "filter"}`, or the
    dashboard's form (the ticked rows' `ids`, or `scope=filter` with the filter)."""
    if request.content_type == "application/json":
        read_field(request, "action")  # refuses a body too large to read
        body = json_object(request, "action")
        if unknown := sorted(set(body) - JSON_FIELDS - {"confirm"}):
            raise BadInput(f"Unknown field `{unknown[0][:20]}`; send action, and ids or filter.")
        action = parse_action(body.get("action"))
        ids, selected_filter = body.get("ids"), body.get("filter")
        if ids is not None and selected_filter is not None:
            raise BadInput("Send `ids` or `filter`, not both.")
        if ids is not None:
            if not isinstance(ids, list):
                raise BadInput("`ids` must be a list of task ids.")
            if not ids:
                raise BadInput("`ids` is empty: list at least one task id.")
            return Selection(action, ids=parse_ids(ids))
        if selected_filter is not None:
            if not isinstance(selected_filter, dict):
                raise BadInput('`filter` must be an object such as {"status": "FAILURE"}.')
            return Selection(action, filter=parse_filter(selected_filter))
        raise BadInput(
            'Say which tasks: `ids` (a list of task ids) or `filter` (e.g. {"status": "FAILURE"}).'
        )
    action = parse_action(read_field(request, "action"))
    if read_field(request, "scope") == "filter":
        return Selection(action, filter=parse_filter(read_field(request, "filter") or ""))
    ids = parse_ids(list(form_values(request, "ids")))
    if not ids:
        raise BadInput('No task selected: tick some rows, or "select all tasks matching".')
    return Selection(action, ids=ids)


@negotiated("POST")
@requires("tasks.bulk_act")
def bulk_actions(request: HttpRequest) -> HttpResponse:
    selection = read_selection(request)
    scope = owner_scope(request)
    answer = answer_for(request)
    if answer is not Answer.JSON and read_field(request, "confirm") != "yes":
        return confirmation(request, selection, bulk.count_selected(selection, scope))
    # A retry launches tasks: it counts as a submission (one per request; its batches
    # then pace the launches), so a script cannot get round the limit through here.
    if selection.action == BulkJob.Action.RETRY and (limited := rate_limited(request)):
        return limited
    try:
        job = bulk.start(selection, scope, task_owner(request))
    except BrokerUnavailable:
        return error_response(request, 503, BROKER_DOWN)
    audit.record(
        request,
        AuditAction(f"tasks.bulk_{selection.action}"),
        count=job.total,
        bulk_job=job.pk,
        filter=selection.filter if selection.ids is None else None,
    )

    def json() -> HttpResponse:
        response = JsonResponse(as_json(job), status=202)
        response["Location"] = job.url
        return response

    def fragment() -> HttpResponse:
        return HttpResponse(status_region(request, job), status=202)

    return answered(
        request, json=json, fragment=fragment, page=lambda: HttpResponseSeeOther(job.url)
    )


def confirmation(request: HttpRequest, selection: Selection, count: int) -> HttpResponse:
    """ "Cancel 8 412 tasks?", with a form that sends the same selection confirmed: in
    the dashboard's status region for htmx, as a page of its own without JavaScript."""
    if count == 0:
        raise BadInput("None of the selected tasks is there any more: nothing to do.", status=409)
    context: dict[str, Any] = {
        "question": question(selection, count),
        "button": f"{VERBS[BulkJob.Action(selection.action)][0]} {tasks_text(count)}",
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
        context = {"job": job, "progress": progress_text(job), "plain": True}
        return render(request, "bulk.html", context)

    return answered(
        request,
        json=lambda: JsonResponse(as_json(job)),
        fragment=lambda: HttpResponse(status_region(request, job)),
        page=page,
    )
