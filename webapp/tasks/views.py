"""Views: the dashboard, the task collection and one task, in every representation."""

import hashlib
import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from webapp.tasks.kinds import Kind
from webapp.tasks.models import TaskRecord
from webapp.tasks.representations import (
    Answer,
    HttpResponseSeeOther,
    answer_for,
    error_response,
    negotiated,
)
from webapp.tasks.tasks import BrokerUnavailable, launch

logger = logging.getLogger(__name__)


class BadInput(Exception):
    """The request can't be served as sent; the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- The task table ----------------------------------------------------------------


def table_version() -> tuple[str, bool]:
    """The version of what the table shows, and whether any task is active.

    Every open dashboard asks this on every poll, so it reads only what the version
    is made of (`TaskRecord.newest_stamps`), never whole rows.
    """
    stamps, active = TaskRecord.newest_stamps(settings.DASHBOARD_PAGE_SIZE)
    fingerprint = "|".join(f"{task_id}:{updated}" for task_id, updated in stamps)
    version = hashlib.blake2b(
        f"{active}|{fingerprint}".encode(), digest_size=8
    ).hexdigest()
    return version, active


def table_context(checked: tuple[str, bool] | None = None) -> dict[str, Any]:
    """What the task table shows, with a version that changes whenever it would.
    `checked` is `table_version()` when the caller has it already."""
    version, active = checked or table_version()
    # Read after the version: a write in between makes the next poll render again.
    tasks = list(TaskRecord.objects.all()[: settings.DASHBOARD_PAGE_SIZE])
    return {
        "tasks": tasks,
        "version": version,
        "poll_seconds": settings.POLL_ACTIVE_SECONDS
        if active
        else settings.POLL_IDLE_SECONDS,
    }


def launch_context() -> dict[str, Any]:
    return {
        "kinds": [
            {
                "value": kind.value,
                "label": kind.label,
                "seconds": kind.seconds * settings.TASK_TIME_SCALE,
            }
            for kind in Kind
        ],
    }


def render_table(request: HttpRequest, status: int = 200) -> HttpResponse:
    answer = answer_for(request)
    if answer is Answer.FRAGMENT:
        return table_fragment(request, status)
    context = table_context()
    if answer is Answer.JSON:
        return JsonResponse({"tasks": [task.as_json() for task in context["tasks"]]})
    return render(request, "dashboard.html", context | launch_context(), status=status)


# How long a rendered table is kept. Its key names its content, so it never goes
# stale, except for a running task's run time, which ticks between versions: a
# cached table shows it as of its render, as a 204 leaves it on a watching page.
TABLE_CACHE_SECONDS = 60


def table_fragment(request: HttpRequest, status: int = 200) -> HttpResponse:
    """The table for a poll: 204 when the poller has this version already, else the
    table, rendered once per version and shared by every dashboard that polls.

    The cache is shared by all users, so the fragment must show nothing particular
    to one request or user (no csrf_token, no user name; a test checks the first).
    """
    checked = table_version()
    if request.GET.get("since") == checked[0]:
        # Nothing visible changed: htmx swaps nothing and keeps polling.
        return HttpResponse(status=204)
    # Everything else the markup depends on goes in the key: the host (an empty
    # table shows a curl line naming it) and any other query parameter.
    params = request.GET.copy()
    params.pop("since", None)
    key = f"task-table:{checked[0]}:{request.get_host()}:{params.urlencode()}"
    html = cache.get(key)
    if html is None:
        context = table_context(checked)
        html = render_to_string("dashboard.html#task-table", context, request)
        cache.set(key, html, TABLE_CACHE_SECONDS)
    return HttpResponse(html, status=status)


@negotiated("GET")
def dashboard(request: HttpRequest) -> HttpResponse:
    return render_table(request)


@negotiated("GET", "POST")
def task_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return submit_task(request)
    return render_table(request)


def submit_task(request: HttpRequest) -> HttpResponse:
    try:
        kind = read_kind(request)
        record = launch(kind)
    except BadInput as exc:
        return error_response(request, exc.status, exc.message)
    except BrokerUnavailable:
        return error_response(
            request,
            503,
            "The task queue is not reachable right now, so nothing was launched. "
            "Try again in a moment.",
        )
    answer = answer_for(request)
    if answer is Answer.JSON:
        response = JsonResponse(record.as_json(), status=202)
        response["Location"] = record.as_json()["url"]
        return response
    if answer is Answer.FRAGMENT:
        return render_table(request, status=201)
    return HttpResponseSeeOther(reverse("dashboard"))


def read_kind(request: HttpRequest) -> Kind:
    """The kind named by the `type` field of a form or JSON body."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.SUBMIT_MAX_BYTES:
        raise BadInput(
            "The request body is too large; send at most "
            f"{settings.SUBMIT_MAX_BYTES} bytes.",
            status=413,
        )
    content_type = request.content_type or ""
    if content_type == "application/json":
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, RequestDataTooBig) as exc:
            raise BadInput(f"The body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadInput('Send a JSON object such as {"type": 1}.')
        raw = body.get("type")
    elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            raw = request.POST.get("type")
        except RequestDataTooBig:
            raise BadInput("The request body is too large.", status=413) from None
        except MultiPartParserError as exc:
            raise BadInput(f"Malformed form body: {exc}") from None
    else:
        raise BadInput(
            "Send `type` as a form field (multipart/form-data or "
            "application/x-www-form-urlencoded) or as JSON (application/json).",
            status=415,
        )
    return parse_kind(raw)


def parse_kind(raw: object) -> Kind:
    accepted = f"type must be one of {Kind.accepted()}"
    if raw is None or raw == "":
        raise BadInput(f"The field `type` is missing; {accepted}.")
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise BadInput(f"{accepted}.")
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or int(text) not in Kind.values:
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise BadInput(f"{shown!r} is not a task type; {accepted}.")
    return Kind(int(text))


# --- One task ------------------------------------------------------------------------


def get_record(task_id: str) -> TaskRecord:
    try:
        parsed = uuid.UUID(task_id)
    except ValueError:
        raise Http404("not a task id") from None
    try:
        return TaskRecord.objects.get(task_id=parsed)
    except TaskRecord.DoesNotExist:
        raise Http404("no such task") from None


@negotiated("GET")
def task_detail(request: HttpRequest, task_id: str) -> HttpResponse:
    try:
        record = get_record(task_id)
    except Http404:
        shown = task_id if len(task_id) <= 40 else task_id[:40] + "…"
        return error_response(request, 404, f"There is no task with id {shown!r}.")
    answer = answer_for(request)
    if answer is Answer.JSON:
        return JsonResponse(record.as_json())
    version = record.updated_at.isoformat()
    context = {
        "task": record,
        "version": version,
        "poll_seconds": settings.POLL_ACTIVE_SECONDS,
        "flower_url": settings.FLOWER_URL,
    }
    if answer is Answer.FRAGMENT:
        if request.GET.get("since") == version:
            return HttpResponse(status=204)
        return render(request, "task_detail.html#task-detail", context)
    return render(request, "task_detail.html", context)


# --- Health and errors -------------------------------------------------------------


def health(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and container health checks: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def bad_request(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    return error_response(request, 400, "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403, "You may not do that.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, f"Nothing lives at {request.path[:80]!r}.")


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(
        request, 500, "Something went wrong on our side; it has been logged."
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    logger.warning("CSRF check failed for %s: %s", request.path, reason)
    return error_response(
        request,
        403,
        "This form was refused because it did not come from this dashboard "
        "(cross-site request check failed). Reload the page and try again.",
    )
