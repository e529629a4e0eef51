"""The seed app's two views, as a floor: what a bare Celery dashboard pays.

testdrivenio/django-celery answers a submit by calling `create_task.delay()` and
returning the id, and a status read by asking the result backend for
`AsyncResult(id)`: no record, no owner, no negotiation. These are those two views
and that task, unchanged but for their URLs and the time scale, served by the same
gunicorn, middleware, Redis and worker as the dashboard (bench/settings.py), so the
dashboard's submit and its task JSON can be reported as ratios to them.
"""

import time
from typing import Any

from celery import shared_task
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@shared_task(name="bench.seed.create_task")
def create_task(task_type: int) -> bool:
    # The seed sleeps type * 10 s; scaled like the dashboard's own kinds.
    time.sleep(int(task_type) * 10 * settings.TASK_TIME_SCALE)
    return True


@csrf_exempt
def run_task(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST a form with a type"}, status=405)
    task = create_task.delay(int(request.POST.get("type", "0")))
    return JsonResponse({"task_id": task.id}, status=202)


@csrf_exempt
def get_status(request: HttpRequest, task_id: str) -> HttpResponse:
    task_result: Any = create_task.AsyncResult(task_id)
    result = {
        "task_id": task_id,
        "task_status": task_result.status,
        "task_result": task_result.result,
    }
    return JsonResponse(result, status=200)
