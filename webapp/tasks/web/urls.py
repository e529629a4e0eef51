"""URLs of the task resources: the collection, one task, and the actions on them."""

from django.urls import path

from webapp.tasks.web import actions, views

app_name = "tasks"

urlpatterns = [
    path("", views.task_collection, name="collection"),
    path("clear/", actions.clear_finished, name="clear"),
    # Any string, so that a malformed id gets the same readable 404 as an unknown one.
    path("<str:task_id>/", views.task_detail, name="detail"),
    path("<str:task_id>/cancel/", actions.cancel_task, name="cancel"),
    path("<str:task_id>/retry/", actions.retry_task, name="retry"),
    path("<str:task_id>/run-now/", actions.run_now_task, name="run_now"),
    path("<str:task_id>/delete/", actions.delete_task, name="delete"),
    path("<str:task_id>/download/", views.download, name="download"),
]
