"""The task history in Django's admin, for operators: filter, search, read the timeline;
the API tokens, to see who has one and revoke it; the periodic schedules (their timing
is django-celery-beat's, in its own admin section)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webapp.tasks.models import ApiToken, Schedule, TaskEvent, TaskRecord


class TaskEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TaskEvent
    extra = 0
    can_delete = False
    readonly_fields = ["status", "at", "note"]

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(TaskRecord)
class TaskRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "task_id",
        "kind",
        "status",
        "progress",
        "attempts",
        "submitted_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "submitted_at"]
    search_fields = ["task_id", "worker", "error"]
    readonly_fields = [field.name for field in TaskRecord._meta.fields]
    date_hierarchy = "submitted_at"
    inlines = [TaskEventInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Tokens are made by `manage.py create_token` (the only moment a token is shown);
    here they are listed, by prefix and never by digest, and revoked."""

    list_display = (
        "prefix",
        "name",
        "user",
        "role",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "user__username"]
    fields = readonly_fields = list_display
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(token.revoke() for token in queryset)
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "kind", "owner", "periodic_task", "created_at", "last_fired_at"]
    list_filter = ["kind"]
    raw_id_fields = ["periodic_task", "owner"]
    readonly_fields = ["created_at", "last_fired_at"]
