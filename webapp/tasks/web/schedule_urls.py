"""URLs of the periodic schedules: the collection, one schedule, and its actions."""

from django.urls import path

from webapp.tasks.web import schedule_views

app_name = "schedules"

urlpatterns = [
    path("", schedule_views.schedule_collection, name="collection"),
    # Any string, so that a malformed id gets the same readable 404 as an unknown one.
    path("<str:schedule_id>/", schedule_views.schedule_detail, name="detail"),
    path("<str:schedule_id>/run/", schedule_views.run_schedule, name="run"),
    path("<str:schedule_id>/enable/", schedule_views.enable_schedule, name="enable"),
    path("<str:schedule_id>/disable/", schedule_views.disable_schedule, name="disable"),
    path("<str:schedule_id>/delete/", schedule_views.delete_schedule, name="delete"),
]
