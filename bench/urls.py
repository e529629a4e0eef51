"""The application's URLs, plus the baselines the benchmark compares against."""

from django.urls import path

from bench import seed
from bench.floor import floor_view
from webapp.urls import *  # noqa: F403
from webapp.urls import urlpatterns as app_urlpatterns

urlpatterns = [
    *app_urlpatterns,
    path("bench/floor", floor_view),
    path("bench/seed/tasks/", seed.run_task),
    path("bench/seed/tasks/<str:task_id>/", seed.get_status),
]
