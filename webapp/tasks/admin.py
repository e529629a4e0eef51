"""The task history in Django's admin, for operators: filter, search, read the timeline;
the API tokens, to see who has one and revoke it; the periodic schedules (their timing
is django-celery-beat's, in its own admin section); the audit trail, read-only."""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from webapp.tasks.models import (
    ApiToken,
    AuditAction,
    AuditEntry,
    Schedule,
    TaskEvent,
    TaskRecord,
)
from webapp.tasks.web import audit


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
        with transaction.atomic():
            revoked = [token for token in queryset.select_related("user") if token.revoke()]
            for token in revoked:
                audit.record(request, AuditAction.TOKEN_REVOKE, token=token)
        self.message_user(request, f"Revoked {len(revoked)} token(s).", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        with transaction.atomic():
            audit.record(request, AuditAction.TOKEN_REVOKE, token=obj, deleted=True)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        with transaction.atomic():
            for token in queryset.select_related("user"):
                audit.record(request, AuditAction.TOKEN_REVOKE, token=token, deleted=True)
            super().delete_queryset(request, queryset)


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "kind", "owner", "periodic_task", "created_at", "last_fired_at"]
    list_filter = ["kind"]
    raw_id_fields = ["periodic_task", "owner"]
    readonly_fields = ["created_at", "last_fired_at"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The audit trail, read-only: nobody adds, changes or deletes an entry here (only
    retention removes old ones). /audit/ shows the same with its own filters."""

    list_display = ["at", "action", "username", "token_name", "channel", "address", "task_id"]
    list_filter = ["action", "channel", "at"]
    search_fields = ["username", "address", "=task_id"]
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
