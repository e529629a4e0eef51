"""The task record: one row per launched task, kept up to date by the worker."""

import uuid
from typing import Any

from django.db import connection, models
from django.utils import timezone

from webapp.tasks.kinds import Kind


class Status(models.TextChoices):
    """Celery's state names, so JSON clients see what Celery would tell them."""

    PENDING = "PENDING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"


ACTIVE_STATUSES = (Status.PENDING, Status.STARTED, Status.RETRY)
FINISHED_STATUSES = (Status.SUCCESS, Status.FAILURE, Status.REVOKED)


class TaskRecord(models.Model):
    # The autoincrement key orders the table (newest first) cheaply and stably;
    # task_id is the Celery task id that URLs and JSON use.
    task_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.PositiveSmallIntegerField(choices=Kind.choices)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING
    )
    progress = models.PositiveSmallIntegerField(default=0)
    submitted_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change, so a poll can tell whether the visible rows changed.
    updated_at = models.DateTimeField(default=timezone.now)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status"], name="task_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} task {self.task_id}"

    # --- Reading -------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def run_seconds(self) -> float | None:
        """Seconds from start to finish, or so far for a running task."""
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    @property
    def result_summary(self) -> str:
        if self.error:
            return self.error
        if isinstance(self.result, dict):
            return ", ".join(f"{key}: {value}" for key, value in self.result.items())
        return "" if self.result is None else str(self.result)

    @classmethod
    def newest_stamps(cls, limit: int) -> tuple[list[tuple[Any, Any]], bool]:
        """(task_id, updated_at) of the newest `limit` tasks, and whether any task at
        all is pending or running: all a table poll needs to tell if anything changed.

        Every open dashboard runs this on every poll, so it is one raw query: the
        ORM's query building and value conversion cost several times the query
        itself (bench/). Both parts are index lookups (the primary key backwards,
        the status index), whatever the size of the history. Values come back as the
        database driver gives them (strings on SQLite), good for comparing only.
        """
        table = connection.ops.quote_name(cls._meta.db_table)
        active = ", ".join(["%s"] * len(ACTIVE_STATUSES))
        sql = (
            f"SELECT task_id, updated_at, EXISTS (SELECT 1 FROM {table} "  # noqa: S608  # our table name, quoted
            f"WHERE status IN ({active})) FROM {table} ORDER BY id DESC LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*ACTIVE_STATUSES, limit])
            rows = cursor.fetchall()
        return [(task_id, updated) for task_id, updated, _ in rows], bool(
            rows and rows[0][2]
        )

    def as_json(self) -> dict[str, Any]:
        """The JSON representation: the seed's keys first, then the new fields."""
        return {
            "task_id": str(self.task_id),
            "task_status": self.status,
            "task_result": self.result,
            "kind": self.kind,
            "kind_name": self.get_kind_display(),
            "progress": self.progress,
            "submitted_at": _iso(self.submitted_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "error": self.error or None,
            "worker": self.worker or None,
            "url": f"/tasks/{self.task_id}/",
        }

    # --- State changes -------------------------------------------------------------
    # Each is one conditional UPDATE, so the web process and any worker can race
    # without clobbering each other: a finished task never goes back to running.
    # They return whether the record changed.

    @classmethod
    def mark_started(cls, task_id: str, worker: str) -> bool:
        now = timezone.now()
        return bool(
            cls.objects.filter(task_id=task_id, status__in=ACTIVE_STATUSES).update(
                status=Status.STARTED,
                started_at=now,
                updated_at=now,
                progress=0,
                worker=worker,
            )
        )

    @classmethod
    def report_progress(cls, task_id: str, percent: int) -> bool:
        percent = max(0, min(100, percent))
        return bool(
            cls.objects.filter(
                task_id=task_id, status=Status.STARTED, progress__lt=percent
            ).update(progress=percent, updated_at=timezone.now())
        )

    @classmethod
    def mark_succeeded(cls, task_id: str, result: Any) -> bool:
        now = timezone.now()
        return bool(
            cls.objects.filter(task_id=task_id, status__in=ACTIVE_STATUSES).update(
                status=Status.SUCCESS,
                progress=100,
                result=result,
                finished_at=now,
                updated_at=now,
            )
        )

    @classmethod
    def mark_failed(cls, task_id: str, error: str) -> bool:
        now = timezone.now()
        return bool(
            cls.objects.filter(task_id=task_id, status__in=ACTIVE_STATUSES).update(
                status=Status.FAILURE, error=error, finished_at=now, updated_at=now
            )
        )


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None
