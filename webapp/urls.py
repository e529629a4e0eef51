"""Top-level URLs: the dashboard, the task resources, the catalogue, queues, the
periodic schedules, metrics (and Prometheus' /metrics), the audit trail, login, the admin,
the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp.tasks.access.login import ThrottledLoginView
from webapp.tasks.metrics import prometheus
from webapp.tasks.web import audit_views, catalogue_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tasks/", include("webapp.tasks.web.urls")),
    path("catalogue/", catalogue_views.catalogue_list, name="catalogue"),
    path("catalogue/<str:name>/", catalogue_views.catalogue_entry, name="catalogue-entry"),
    path("queues/", include("webapp.tasks.web.queue_urls")),
    path("schedules/", include("webapp.tasks.web.schedule_urls")),
    path("metrics", prometheus.scrape, name="prometheus"),
    path("metrics/", include("webapp.tasks.web.metrics_urls")),
    path("audit/", audit_views.audit_trail, name="audit"),
    path("healthz", views.health, name="health"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

handler400 = "webapp.tasks.web.views.bad_request"
handler403 = "webapp.tasks.web.views.forbidden"
handler404 = "webapp.tasks.web.views.not_found"
handler500 = "webapp.tasks.web.views.server_error"
