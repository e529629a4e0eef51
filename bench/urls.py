"""The application's URLs, plus the floor view the benchmark compares against."""

from django.urls import path

from bench.floor import floor_view
from webapp.urls import *  # noqa: F403
from webapp.urls import urlpatterns as app_urlpatterns

urlpatterns = [*app_urlpatterns, path("bench/floor", floor_view)]
