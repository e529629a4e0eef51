"""Top-level URLs: the dashboard, the task resources, the catalogue, queues, the
periodic schedules, login, the admin, the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp.tasks.access import ThrottledLoginView
from webapp.tasks.web import catalogue_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tasks/", include("webapp.tasks.web.urls")),
    path("catalogue/", catalogue_views.catalogue_list, name="catalogue"),
    path("catalogue/<str:name>/", catalogue_views.catalogue_entry, name="catalogue-entry"),
    path("queues/", include("webapp.tasks.web.queue_urls")),
    path("schedules/", include("webapp.tasks.web.schedule_urls")),
    path("healthz", views.health, name="health"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

handler400 = "webapp.tasks.web.views.bad_request"
handler403 = "webapp.tasks.web.views.forbidden"
handler404 = "webapp.tasks.web.views.not_found"
handler500 = "webapp.tasks.web.views.server_error"
