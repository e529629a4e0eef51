"""The task history in Django's admin, for operators: filter, search, read the timeline."""

from django.contrib import admin

from webapp.tasks.models import TaskEvent, TaskRecord


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
