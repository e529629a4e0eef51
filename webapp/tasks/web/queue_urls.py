"""URLs of the queues: the list, and pausing or resuming one."""

from django.urls import path

from webapp.tasks.web import queue_views

app_name = "queues"

urlpatterns = [
    path("", queue_views.queue_list, name="list"),
    path("<str:name>/pause/", queue_views.pause_queue, name="pause"),
    path("<str:name>/resume/", queue_views.resume_queue, name="resume"),
]
