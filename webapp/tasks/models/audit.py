"""The audit trail: one entry per change, who made it, when, through what, from where."""

from typing import Any

from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    """What an audit entry records: every change made through the dashboard, its
    JSON, the admin or manage.py, and the attempts to get in that failed."""

    LAUNCH = "task.launch", "launched a task"
    CANCEL = "task.cancel", "cancelled a task"
    RETRY = "task.retry", "retried a task"
    RUN_NOW = "task.run_now", "ran a scheduled task now"
    DELETE = "task.delete", "deleted a task"
    CLEAR = "tasks.clear", "cleared finished tasks"
    BULK_CANCEL = "tasks.bulk_cancel", "cancelled tasks in bulk"
    BULK_RETRY = "tasks.bulk_retry", "retried tasks in bulk"
    BULK_DELETE = "tasks.bulk_delete", "deleted tasks in bulk"
    QUEUE_PAUSE = "queue.pause", "paused a queue"
    QUEUE_RESUME = "queue.resume", "resumed a queue"
    SCHEDULE_CREATE = "schedule.create", "added a schedule"
    SCHEDULE_EDIT = "schedule.edit", "edited a schedule"
    SCHEDULE_ENABLE = "schedule.enable", "enabled a schedule"
    SCHEDULE_DISABLE = "schedule.disable", "disabled a schedule"
    SCHEDULE_RUN_NOW = "schedule.run_now", "ran a schedule now"
    SCHEDULE_DELETE = "schedule.delete", "deleted a schedule"
    TOKEN_CREATE = "token.create", "created an API token"
    TOKEN_REVOKE = "token.revoke", "revoked an API token"
    LOGIN_FAILED = "login.failed", "failed to log in"
    TOKEN_REFUSED = "token.refused", "sent a refused API token"


class AuditChannel(models.TextChoices):
    """Through what a change came (audit.channel_of decides)."""

    BROWSER = "browser", "browser"
    HTMX = "htmx", "browser (htmx)"
    API = "api", "API (JSON)"
    ADMIN = "admin", "admin"
    COMMAND = "command", "manage.py"


class AuditEntry(models.Model):
    """One change, as it happened: when, who, through what, from where, what it
    touched. Written by audit.record only, and never changed after: the admin shows
    entries read-only and no URL edits them; retention deletes the old ones.

    Who acted is kept as text beside the ids, without foreign keys, so that deleting
    a user or a token keeps the entries naming them; likewise the task and schedule
    touched, which may be deleted by the very change recorded."""

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    # The bearer token a script acted with (None: a browser session or no login).
    token_id = models.BigIntegerField(null=True, blank=True)
    token_name = models.CharField(max_length=120, blank=True)
    channel = models.CharField(max_length=8, choices=AuditChannel.choices)
    address = models.CharField(max_length=64, blank=True)
    # What it touched: a task, how many tasks, a queue, a schedule; the rest (a
    # token, a filter, a retry's new task) in `details`.
    task_id = models.UUIDField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    queue = models.CharField(max_length=100, blank=True)
    schedule_id = models.BigIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            # The page lists newest first by id; each filter reads along its own.
            models.Index(fields=["action", "id"], name="audit_action_idx"),
            models.Index(fields=["username", "id"], name="audit_username_idx"),
            models.Index(fields=["channel", "id"], name="audit_channel_idx"),
            models.Index(fields=["task_id", "id"], name="audit_task_idx"),
            # The date range of the page, and retention's oldest-first batches.
            models.Index(fields=["at"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at.isoformat(timespec='seconds')} {self.who} {self.action}"

    @property
    def who(self) -> str:
        """Who acted, for people: the user (and the token they used), manage.py, or
        nobody logged in."""
        if self.channel == AuditChannel.COMMAND and not self.username:
            return "manage.py"
        name = self.username or "anonymous"
        if self.token_id is not None:
            return f"{name} (token {self.token_name or self.token_id})"
        return name

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "at": self.at.isoformat(),
            "action": self.action,
            "user_id": self.user_id,
            "username": self.username or None,
            "token_id": self.token_id,
            "token_name": self.token_name or None,
            "through": self.channel,
            "address": self.address or None,
            "task_id": str(self.task_id) if self.task_id else None,
            "count": self.count,
            "queue": self.queue or None,
            "schedule_id": self.schedule_id,
            "details": self.details,
        }
