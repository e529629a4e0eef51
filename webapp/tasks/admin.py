"""The task history in Django's admin, for operators."""

from django.contrib import admin

from webapp.tasks.models import TaskRecord


@admin.register(TaskRecord)
class TaskRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "task_id",
        "kind",
        "status",
        "progress",
        "submitted_at",
        "finished_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["task_id", "worker", "error"]
    readonly_fields = [field.name for field in TaskRecord._meta.fields]
    date_hierarchy = "submitted_at"
