"""URLs of the metrics pages (GET /metrics itself is Prometheus', in webapp/urls.py)."""

from django.urls import path

from webapp.tasks.web import metrics_views

app_name = "metrics"

urlpatterns = [
    path("overview/", metrics_views.overview, name="overview"),
    path("kinds/<str:name>/", metrics_views.kind_metrics, name="kind"),
    path("queues/<str:name>/", metrics_views.queue_metrics, name="queue"),
]
