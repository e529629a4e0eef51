"""The baselines: the cheapest Django view and the cheapest Celery task.

`floor_view` goes through the same gunicorn workers, middleware and URL resolver as
every dashboard request, and does nothing else: no database, no template. Anything
the table poll costs above it is the poll's own work. `ping` is the same for Celery:
a task with no body, so `ping.delay().get()` is the round trip any Celery app pays
on this Redis and this worker.
"""

from celery import shared_task
from django.http import HttpRequest, HttpResponse


def floor_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


@shared_task(name="bench.ping")
def ping() -> str:
    return "pong"
