"""The metrics pages: an overview of every kind and queue, and a page per kind and per
queue, over the last hour, day or week (`?window=`); JSON for curl from the same URLs.

Metrics sum everyone's tasks, so they are for whoever sees everyone's: the permission
`tasks.view_all_tasks` (viewer, admin; anyone while login is off).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from webapp.tasks.access.roles import requires
from webapp.tasks.catalogue.kinds import queue_names
from webapp.tasks.metrics import charts, reading
from webapp.tasks.metrics.histogram import RELATIVE_ERROR
from webapp.tasks.models import MetricBin
from webapp.tasks.web.representations import BadInput, answered, negotiated, query_param

SEES_METRICS = "tasks.view_all_tasks"  # metrics count everyone's tasks


def window_of(request: HttpRequest) -> str:
    window = query_param(request, "window") or reading.DEFAULT_WINDOW
    if window not in reading.WINDOWS:
        raise BadInput(f"window must be one of {', '.join(reading.WINDOWS)}.")
    return window


def windows(request: HttpRequest, current: str) -> list[dict[str, Any]]:
    """The window picker's links (plain links: they work without JavaScript)."""
    return [
        {"name": name, "url": f"{request.path}?window={name}", "current": name == current}
        for name in reading.WINDOWS
    ]


def subject_url(subject: reading.Subject) -> str:
    view = "metrics:kind" if subject.what == "kind" else "metrics:queue"
    return reverse(view, args=[subject.name])


def numbers(tally: reading.Tally) -> dict[str, Any]:
    """A tally as a table row shows it."""
    rate = tally.failure_rate
    return {
        "tally": tally,
        "failed": "—" if rate is None else f"{rate:.1%}",
        "wait": {k: charts.seconds_text(v) for k, v in tally.percentiles(MetricBin.WAIT).items()},
        "run": {k: charts.seconds_text(v) for k, v in tally.percentiles(MetricBin.RUN).items()},
    }


def row(subject: reading.Subject, tally: reading.Tally, window: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "url": f"{subject_url(subject)}?window={window}",
        **numbers(tally),
    }


@negotiated("GET")
@requires(SEES_METRICS)
def overview(request: HttpRequest) -> HttpResponse:
    window = window_of(request)
    now = timezone.now()
    listed = reading.overview(window, now)

    def json() -> HttpResponse:
        return JsonResponse(
            {
                "window": window,
                "end": now.isoformat(),
                "relative_error": RELATIVE_ERROR,
                "kinds": [
                    {"name": s.name, "queue": s.queue, "url": subject_url(s), **t.as_json()}
                    for s, t in listed
                    if s.what == "kind"
                ],
                "queues": [
                    {"name": s.name, "url": subject_url(s), **t.as_json()}
                    for s, t in listed
                    if s.what == "queue"
                ],
            }
        )

    context = {
        "window": window,
        "windows": windows(request, window),
        "end": now,
        "kinds": [row(s, t, window) for s, t in listed if s.what == "kind"],
        "queues": [row(s, t, window) for s, t in listed if s.what == "queue"],
        "error_percent": f"{RELATIVE_ERROR:.2%}",
        "json_link": f"{request.path}?window={window}&format=json",
    }
    return answered(
        request,
        json=json,
        fragment=lambda: render(request, "metrics.html#overview", context),
        page=lambda: render(request, "metrics.html", context | {"page": "overview"}),
    )


@negotiated("GET")
@requires(SEES_METRICS)
def kind_metrics(request: HttpRequest, name: str) -> HttpResponse:
    subject = reading.kind_subject(name)
    if subject is None:
        known = ", ".join(s.name for s in reading.all_subjects() if s.what == "kind")
        raise BadInput(f"There is no task kind named {name[:40]!r}; the kinds are {known}.", 404)
    return subject_page(request, subject)


@negotiated("GET")
@requires(SEES_METRICS)
def queue_metrics(request: HttpRequest, name: str) -> HttpResponse:
    subject = reading.queue_subject(name)
    if subject is None:
        raise BadInput(
            f"There is no queue named {name[:40]!r}; the queues are {', '.join(queue_names())}.",
            404,
        )
    return subject_page(request, subject)


def subject_page(request: HttpRequest, subject: reading.Subject) -> HttpResponse:
    window = window_of(request)
    report = reading.report(subject, window)
    context = {
        "subject": subject,
        "report": report,
        "window": window,
        "windows": windows(request, window),
        "summary": row(subject, report.whole, window),
        "throughput": charts.throughput(report),
        "run_chart": charts.percentiles(report, MetricBin.RUN),
        "wait_chart": charts.percentiles(report, MetricBin.WAIT),
        "table": [
            {"start": report.bucket_start(i), **numbers(tally)}
            for i, tally in enumerate(report.buckets)
            if tally.count
        ],
        "error_percent": f"{RELATIVE_ERROR:.2%}",
        "json_link": f"{request.path}?window={window}&format=json",
        "overview_url": f"{reverse('metrics:overview')}?window={window}",
    }
    return answered(
        request,
        json=lambda: JsonResponse(report.as_json()),
        fragment=lambda: render(request, "metrics.html#report", context),
        page=lambda: render(request, "metrics.html", context | {"page": "subject"}),
    )
