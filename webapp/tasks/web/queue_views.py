"""The queues over HTTP: list them, and pause or resume one (staff only).

GET /queues/ answers JSON for scripts, the queue table for htmx and a page for
browsers. Pausing and resuming are actions like cancel (web/actions.py): CSRF-checked
for browsers, a bearer token for scripts, post/redirect/get without JavaScript, and
with htmx the live table, whose rows then say which tasks wait behind the pause.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from webapp.tasks.access import QUEUES_NEED_STAFF, owner_scope, steers_queues, task_owner
from webapp.tasks.catalogue.kinds import queue_names
from webapp.tasks.models import WorkerStatus
from webapp.tasks.running import queues
from webapp.tasks.web.actions import next_url
from webapp.tasks.web.feedback import tell
from webapp.tasks.web.representations import (
    Answer,
    BadInput,
    HttpResponseSeeOther,
    answer_for,
    answered,
    negotiated,
)
from webapp.tasks.web.views import render_table, table_query


@negotiated("GET")
def queue_list(request: HttpRequest) -> HttpResponse:
    owner = owner_scope(request)
    listed = queues.overview(owner, WorkerStatus.online())
    answer = answer_for(request)
    if answer is Answer.JSON:
        return JsonResponse(
            {
                "queues": [queue.as_json() for queue in listed],
                "own_only": owner is not None,
                "may_pause": steers_queues(owner),
            }
        )
    context = {
        "queues": listed,
        "own_only": owner is not None,
        "can_steer": steers_queues(owner),
        "next_path": reverse("queues:list"),
        "plain": True,  # this page has no live table for htmx to swap
    }
    template = "queues.html#queue-table" if answer is Answer.FRAGMENT else "queues.html"
    return render(request, template, context)


@negotiated("POST")
def pause_queue(request: HttpRequest, name: str) -> HttpResponse:
    return steer(request, name, paused=True)


@negotiated("POST")
def resume_queue(request: HttpRequest, name: str) -> HttpResponse:
    return steer(request, name, paused=False)


def steer(request: HttpRequest, name: str, paused: bool) -> HttpResponse:
    started = timezone.now()
    owner = owner_scope(request)
    if not steers_queues(owner):
        raise BadInput(QUEUES_NEED_STAFF, status=403)
    try:
        changed = queues.set_paused(name, paused, by=task_owner(request))
    except queues.UnknownQueue:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise BadInput(
            f"There is no queue named {shown!r}; the queues are {', '.join(queue_names())}.",
            status=404,
        ) from None
    if paused:
        said = "Paused" if changed else "Already paused:"
        tell(request, f"{said} queue {name}. Its tasks wait until it is resumed.")
    else:
        said = "Resumed" if changed else "Already running:"
        tell(request, f"{said} queue {name}. Its workers take its tasks again.")

    def json() -> HttpResponse:
        (queue,) = [q for q in queues.overview(owner, WorkerStatus.online()) if q.name == name]
        return JsonResponse(queue.as_json() | {"changed": changed})

    return answered(
        request,
        json=json,
        fragment=lambda: render_table(
            request, table_query(request, from_page=True), announce_since=started
        ),
        page=lambda: HttpResponseSeeOther(next_url(request, reverse("dashboard"))),
    )
