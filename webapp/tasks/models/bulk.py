"""A bulk action: cancel, retry or delete many tasks, worked through in batches."""

from django.conf import settings
from django.db import models
from django.utils import timezone

# The Celery task that carries out bulk actions (running/bulk.py): plumbing, not a task to list.
BULK_TASK = "tasks.bulk_act"


class BulkJob(models.Model):
    """A bulk cancel, retry or delete: who asked, which tasks it covers, and how far it
    got. The selection is the task ids given, or a table filter (its query string) up
    to the newest task that matched when it was confirmed; either is read through the
    owner scope of whoever asked (`scope`, access.scope.tasks_of), a batch at a time."""

    class Action(models.TextChoices):
        CANCEL = "cancel", "cancel"
        RETRY = "retry", "retry"
        DELETE = "delete", "delete"

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bulk_jobs",
    )
    # Whose tasks it may touch (access.scope.owner_scope when it was asked): None, everyone's.
    scope = models.PositiveIntegerField(null=True, blank=True)
    action = models.CharField(max_length=6, choices=Action.choices)
    ids = models.JSONField(null=True, blank=True)  # the task ids selected, or None:
    filter = models.CharField(max_length=200, blank=True)  # the filter, e.g. "status=FAILURE"
    last_id = models.BigIntegerField(default=0)  # a filter covers records up to this one
    total = models.PositiveIntegerField(default=0)
    # Where the next batch starts: an index into `ids`, or the last record id done.
    cursor = models.BigIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    reasons = models.JSONField(default=dict)  # why tasks were skipped: {reason: count}
    state = models.CharField(max_length=7, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"bulk {self.action} {self.pk} ({self.state})"

    @property
    def url(self) -> str:
        return f"/tasks/bulk/{self.pk}/"

    @property
    def by_filter(self) -> bool:
        return self.ids is None

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
