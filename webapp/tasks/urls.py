"""URLs of the task resources: the collection and one task."""

from django.urls import path

from webapp.tasks import views

app_name = "tasks"

urlpatterns = [
    path("", views.task_collection, name="collection"),
    # Any string, so that a malformed id gets the same readable 404 as an unknown one.
    path("<str:task_id>/", views.task_detail, name="detail"),
]
