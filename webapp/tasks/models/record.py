"""The task record and its state machine: one row per task, and its timeline."""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone

from webapp.tasks.catalogue.entries import entry_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models.workers import WorkerStatus

if TYPE_CHECKING:
    from webapp.tasks.models.audit import AuditEntry
    from webapp.tasks.models.schedules import Schedule


class Status(models.TextChoices):
    """Celery's state names, so JSON clients see what Celery would tell them, and
    SCHEDULED: held here until its time (`eta`, `countdown`), not yet in the queue."""

    SCHEDULED = "SCHEDULED", "scheduled"
    PENDING = "PENDING", "pending"
    STARTED = "STARTED", "running"
    RETRY = "RETRY", "retrying"
    SUCCESS = "SUCCESS", "succeeded"
    FAILURE = "FAILURE", "failed"
    REVOKED = "REVOKED", "cancelled"


ACTIVE_STATUSES = (Status.PENDING, Status.STARTED, Status.RETRY)
# A task waiting to retry whose worker is gone is given up this long after its
# next try was due (a live worker may still hold the delayed message: with Redis,
# the worker that receives it keeps it until it is due).
LOST_RETRY_GRACE = timedelta(seconds=60)
# A task starts only from these: a second start of a running task (a message Redis
# handed out again) is refused, so no attempt ever runs twice at once.
STARTABLE_STATUSES = (Status.PENDING, Status.RETRY)
FINISHED_STATUSES = (Status.SUCCESS, Status.FAILURE, Status.REVOKED)
RETRYABLE_STATUSES = (Status.FAILURE, Status.REVOKED)
# A scheduled task is not active (no worker has it, nothing waits in a queue), but it
# can be cancelled as an active one can.
CANCELLABLE_STATUSES = (Status.SCHEDULED, *ACTIVE_STATUSES)
# Published this much after its time or more, a scheduled task's timeline says it was
# late (the publisher was not running, or the database was slow to answer).
LATE_AFTER = timedelta(seconds=1)
# The Celery task that runs the dashboard's own kinds (publishing.TASK_NAME, which
# imports this module); any other name is a foreign task's.
DASHBOARD_TASK = "tasks.run"
# A foreign task's argument in the table's one-line summary: at most this many
# characters, the rest elided with "…" (the detail page shows it all).
SUMMARY_VALUE_CHARS = 24


class TaskRecord(models.Model):
    # The autoincrement key orders the table (newest first) and pages it stably;
    # task_id is the Celery task id that URLs and JSON use.
    task_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Our own tasks (tasks.run) have a kind; a task published by anything else (a
    # `.delay()` elsewhere in the app, beat, `celery call`, Flower) has none, but its
    # Celery task name and arguments as the message carried them: see running/seen.py.
    kind = models.PositiveSmallIntegerField(choices=Kind.choices, null=True, blank=True)
    name = models.CharField(max_length=255, blank=True, default="", db_default="")
    args = models.JSONField(null=True, blank=True)
    kwargs = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    submitted_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    # When a task launched with `eta` or `countdown` is due: it waits here, SCHEDULED,
    # until scheduling.publish_due queues it (see there why not in Redis).
    run_at = models.DateTimeField(null=True, blank=True)
    # How long the last attempt ran, written when the task finishes (see _transition),
    # so that the table can sort by run time along an index.
    run_time = models.DurationField(null=True, blank=True)
    # Bumped by every change, so a poll can tell whether the visible rows changed.
    updated_at = models.DateTimeField(default=timezone.now)
    # The parameters it was launched with, complete (defaults filled in); NULL for
    # tasks from before the catalogue, which ran with the defaults.
    params = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True)
    # Which run of a worker process started the task (a new id on every start of a
    # worker, even under the same hostname), so a task whose worker died can be told
    # apart from one that is still running: see mark_lost.
    worker_instance = models.CharField(max_length=32, blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    # Who launched it, when login is required; None for anonymous local use.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    # The periodic schedule that launched it, if one did. (Indexed with the id below.)
    schedule = models.ForeignKey(
        "tasks.Schedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
        db_index=False,
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Each filter reads newest-first along one of these, however long the history.
            models.Index(fields=["status", "id"], name="task_status_idx"),
            models.Index(fields=["kind", "id"], name="task_kind_idx"),
            # The charts' "finished in the last hour, by outcome": a range per status.
            models.Index(fields=["status", "finished_at"], name="task_status_finished_idx"),
            models.Index(fields=["owner", "id"], name="task_owner_idx"),
            # One user's queue and running tasks (the workers panel), whatever their
            # history: without it, "oldest queued" walks all their tasks.
            models.Index(fields=["owner", "status", "id"], name="task_owner_status_idx"),
            # What one user's page rows were retried as: an equality on both columns,
            # so that SQLite does not read all the user's tasks to find them.
            models.Index(fields=["owner", "retry_of"], name="task_owner_retry_of_idx"),
            models.Index(fields=["run_time", "id"], name="task_run_time_idx"),
            # Each queue's oldest waiting task (running/queues.py): one seek per kind.
            models.Index(fields=["status", "kind", "id"], name="task_status_kind_idx"),
            # The scheduler's one query per tick: the scheduled tasks now due.
            models.Index(fields=["status", "run_at"], name="task_due_idx"),
            # A schedule's newest runs (its last run, its page), however many it has had.
            models.Index(fields=["schedule", "id"], name="task_schedule_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} task {self.task_id}"

    # --- Reading -------------------------------------------------------------------

    @property
    def is_foreign(self) -> bool:
        """Published by something other than the dashboard (see running/seen.py)."""
        return self.kind is None

    def get_kind_display(self) -> str:  # type: ignore[no-redef]  # Django's reads only choices
        """What the task is, for people: its kind's label, or a foreign task's name."""
        return self.name if self.kind is None else Kind(self.kind).label

    @property
    def shown_arguments(self) -> dict[str, Any]:
        """What the detail page lists: our parameters, or a foreign task's arguments
        (positional ones numbered from 1, then the keyword ones by name)."""
        if self.kind is not None:
            return self.effective_params
        numbered = {f"#{index}": value for index, value in enumerate(self.args or [], 1)}
        return numbered | dict(self.kwargs or {})

    @property
    def args_summary(self) -> str:
        """A foreign task's arguments on one line, as Python would write the call."""
        parts = [_short(value) for value in self.args or []]
        parts += [f"{key}={_short(value)}" for key, value in (self.kwargs or {}).items()]
        return ", ".join(parts)

    @property
    def url(self) -> str:
        # The task URLs are part of the product's contract (DESIGN.md); building them
        # here spares the table a reverse() per row and action.
        return f"/tasks/{self.task_id}/"

    @property
    def schedule_url(self) -> str | None:
        """The periodic schedule that launched it (as `url`, without a reverse per row)."""
        return f"/schedules/{self.schedule_id}/" if self.schedule_id else None

    @property
    def short_id(self) -> str:
        return str(self.task_id)[:8]

    @property
    def queue(self) -> str | None:
        """The Celery queue it waits in (its kind's); None for a foreign task."""
        return None if self.kind is None else Kind(self.kind).queue

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE_STATUSES

    @property
    def can_run_now(self) -> bool:
        return self.status == Status.SCHEDULED

    @property
    def can_retry(self) -> bool:
        # A foreign task is its publisher's to send again: the dashboard does not
        # know whether it is safe to repeat.
        return self.status in RETRYABLE_STATUSES and self.kind is not None

    @property
    def can_delete(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def run_seconds(self) -> float | None:
        """Seconds from start to finish, or so far for a running task."""
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def queued_since(self) -> datetime:
        """When it began to wait for a worker: its submission, or for a scheduled task
        its time (the wait before is what was asked for, not queueing)."""
        return max(self.submitted_at, self.run_at) if self.run_at else self.submitted_at

    @property
    def queued_seconds(self) -> float | None:
        """Seconds between submission and the first start (or now, while queued)."""
        if self.started_at is None:
            if self.finished_at or self.status == Status.SCHEDULED:
                return None
            return max(0.0, (timezone.now() - self.queued_since).total_seconds())
        return max(0.0, (self.started_at - self.queued_since).total_seconds())

    @property
    def seconds_left(self) -> float | None:
        """Estimated time left for a running task, from its pace so far."""
        if self.status != Status.STARTED or not 0 < self.progress < 100 or not self.started_at:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return elapsed * (100 - self.progress) / self.progress

    @property
    def result_summary(self) -> str:
        if self.error:
            return self.error
        if isinstance(self.result, dict):
            return ", ".join(f"{key}: {value}" for key, value in self.result.items())
        return "" if self.result is None else str(self.result)

    @property
    def effective_params(self) -> dict[str, Any]:
        """The parameters it runs with: those stored, the defaults for the rest (none
        for a foreign task: it has arguments instead)."""
        return {} if self.kind is None else entry_of(self.kind).complete(self.params)

    def as_json(self) -> dict[str, Any]:
        """The JSON representation: the seed's keys first, then the new fields."""
        return {
            "task_id": str(self.task_id),
            "task_status": self.status,
            "task_result": self.result,
            "kind": self.kind,
            "kind_name": self.get_kind_display(),
            "name": self.name or DASHBOARD_TASK,
            "params": None if self.kind is None else self.effective_params,
            "args": self.args,
            "kwargs": self.kwargs,
            "queue": self.queue,
            "progress": self.progress,
            "attempts": self.attempts,
            "submitted_at": _iso(self.submitted_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "retry_at": _iso(self.retry_at),
            "run_at": _iso(self.run_at),
            "queued_seconds": _round(self.queued_seconds),
            "run_seconds": _round(self.run_seconds),
            "seconds_left": _round(self.seconds_left),
            "error": self.error or None,
            "traceback": self.traceback or None,
            "worker": self.worker or None,
            "retry_of": str(self.retry_of.task_id) if self.retry_of else None,
            "url": self.url,
            "schedule": self.schedule_url,
        }

    # --- State changes -------------------------------------------------------------
    # Each is one conditional UPDATE, so the web process and any worker can race
    # without clobbering each other: a finished task never goes back to running.
    # A change that happens also writes a timeline event. They return whether the
    # record changed.

    @classmethod
    def _transition(
        cls,
        task_id: str,
        allowed: tuple[str, ...],
        note: str = "",
        only_if: dict[str, Any] | None = None,
        **changes: Any,
    ) -> bool:
        now = timezone.now()
        if "finished_at" in changes:
            # Started-to-finished of the last attempt; NULL if it never started.
            changes["run_time"] = models.ExpressionWrapper(
                models.Value(changes["finished_at"]) - models.F("started_at"),
                output_field=models.DurationField(),
            )
        # No savepoint when nested (run_at_once): a failure there rolls back the whole.
        with transaction.atomic(savepoint=False):
            changed = cls.objects.filter(
                task_id=task_id, status__in=allowed, **(only_if or {})
            ).update(updated_at=now, **changes)
            if changed:
                TaskEvent.append(task_id, changes["status"], now, note)
        return bool(changed)

    @classmethod
    def submit(
        cls,
        kind: Kind,
        retry_of: "TaskRecord | None" = None,
        owner: Any = None,
        params: dict[str, Any] | None = None,
        run_at: datetime | None = None,
        schedule: "Schedule | None" = None,
        audit: "AuditEntry | None" = None,
    ) -> "TaskRecord":
        """A new task, PENDING for the caller to publish, or with `run_at`, SCHEDULED
        for scheduling.publish_due to publish when due; with `audit`, its launch's
        audit entry, in the same commit (one commit per submit)."""
        status = Status.SCHEDULED if run_at else Status.PENDING
        record = cls(
            kind=kind,
            retry_of=retry_of,
            owner=owner,
            params=params,
            status=status,
            run_at=run_at,
            schedule=schedule,
        )
        notes = [f"retry of {retry_of.short_id}"] if retry_of else []
        if run_at:
            notes.append(f"to run at {run_at.isoformat(timespec='milliseconds')}")
        with transaction.atomic():
            insert(record)
            insert(
                TaskEvent(task=record, status=status, at=record.submitted_at, note="; ".join(notes))
            )
            if audit is not None:
                audit.task_id = record.task_id
                insert(audit)
        return record

    @classmethod
    def due(cls, now: datetime, limit: int = 100) -> list[tuple[str, int, datetime]]:
        """(task id, kind, run_at) of the scheduled tasks due by `now`, earliest first:
        one range on task_due_idx, however many are scheduled later."""
        rows = (
            cls.objects.filter(status=Status.SCHEDULED, run_at__lte=now)
            .order_by("run_at")
            .values_list("task_id", "kind", "run_at")[:limit]
        )
        return [(str(task_id), kind, run_at) for task_id, kind, run_at in rows]

    @classmethod
    def mark_due(cls, task_id: str, run_at: datetime | None, note: str = "") -> bool:
        """Claim a scheduled task for publishing: SCHEDULED to PENDING, once. Of any
        number of publishers (and a person's "run now") only the one whose UPDATE
        changed the row goes on to publish it. The timeline says when it was due and
        how late it is, when it is."""
        now = timezone.now()
        if not note and run_at is not None:
            late = now - run_at
            note = f"due at {run_at.isoformat(timespec='milliseconds')}"
            if late >= LATE_AFTER:
                note += (
                    f"; published {late.total_seconds():.1f} s late "
                    "(no scheduler was running when it came due)"
                )
        return cls._transition(task_id, (Status.SCHEDULED,), note=note, status=Status.PENDING)

    @classmethod
    def mark_unpublished(cls, task_id: str, why: str) -> bool:
        """A claimed task whose message the broker would not take goes back to
        SCHEDULED (still due), for the next tick to publish."""
        return cls._transition(
            task_id,
            (Status.PENDING,),
            note=f"not queued: {why}; trying again",
            status=Status.SCHEDULED,
        )

    @classmethod
    def seen(
        cls, task_id: str, name: str, args: list[Any], kwargs: dict[str, Any], note: str
    ) -> bool:
        """Record a task published outside the dashboard as PENDING, unless a record
        of that task id exists (one of ours, or already seen by its publisher or its
        worker); returns whether it was new. A foreign task has no owner."""
        if cls.objects.filter(task_id=task_id).exists():
            return False
        try:
            # A savepoint: the publisher and the worker can race to record the same
            # task, and the loser must not spoil the transaction it runs in.
            with transaction.atomic():
                record = cls.objects.create(
                    task_id=task_id, kind=None, name=name, args=args, kwargs=kwargs
                )
                TaskEvent.objects.create(
                    task=record, status=Status.PENDING, at=record.submitted_at, note=note
                )
        except IntegrityError:
            return False
        return True

    @classmethod
    def params_of(cls, task_id: str) -> dict[str, Any] | None:
        """What the task's body is to be called with (the record, not the message, is
        the one copy: a message sent again by a sweep carries only the kind)."""
        return cls.objects.filter(task_id=task_id).values_list("params", flat=True).first()

    @classmethod
    def mark_started(cls, task_id: str, worker: str, instance: str = "") -> bool:
        return cls._transition(
            task_id,
            STARTABLE_STATUSES,
            note=f"on {worker}",
            status=Status.STARTED,
            started_at=timezone.now(),
            retry_at=None,
            progress=0,
            worker=worker,
            worker_instance=instance,
            attempts=models.F("attempts") + 1,
        )

    @classmethod
    def run_at_once(
        cls, task_id: str, worker: str, instance: str, body: Callable[[], Any]
    ) -> tuple[bool, Any]:
        """Start a task, run a `body` that returns at once, and mark it succeeded, in
        one transaction: the worker's one commit instead of two, and one wait for
        SQLite's single writer instead of two. The same conditional UPDATEs and
        timeline events as mark_started and mark_succeeded; only a reader can no longer
        see the STARTED in between, which would last microseconds.

        Returns (False, None) if the task may not start (see mark_started), else
        (True, the body's result). If the body raises, the start is still committed
        and the exception propagates, for the caller to record as any failure."""
        failure: Exception | None = None
        result: Any = None
        with transaction.atomic():
            if not cls.mark_started(task_id, worker, instance):
                return False, None
            try:
                result = body()
            except Exception as exc:
                failure = exc
            else:
                cls.mark_succeeded(task_id, result)
        if failure is not None:
            raise failure
        return True, result

    @classmethod
    def report_progress(cls, task_id: str, percent: int) -> bool:
        # No event: progress is not a change of state, and it is frequent.
        percent = max(0, min(100, percent))
        return bool(
            cls.objects.filter(task_id=task_id, status=Status.STARTED, progress__lt=percent).update(
                progress=percent, updated_at=timezone.now()
            )
        )

    @classmethod
    def mark_retrying(cls, task_id: str, error: str, retry_at: datetime) -> bool:
        wait = (retry_at - timezone.now()).total_seconds()
        return cls._transition(
            task_id,
            (Status.STARTED,),
            note=f"{error}; next try in {max(wait, 0):.1f} s",
            status=Status.RETRY,
            error=error,
            retry_at=retry_at,
        )

    @classmethod
    def mark_succeeded(cls, task_id: str, result: Any) -> bool:
        return cls._transition(
            task_id,
            ACTIVE_STATUSES,
            status=Status.SUCCESS,
            progress=100,
            result=result,
            error="",
            finished_at=timezone.now(),
        )

    @classmethod
    def mark_failed(cls, task_id: str, error: str, traceback: str = "") -> bool:
        return cls._transition(
            task_id,
            ACTIVE_STATUSES,
            note=error,
            status=Status.FAILURE,
            error=error,
            traceback=traceback,
            retry_at=None,
            finished_at=timezone.now(),
        )

    @classmethod
    def give_back(
        cls,
        task_id: str,
        reason: str,
        from_status: str = Status.STARTED,
        only_if: dict[str, Any] | None = None,
    ) -> str | None:
        """A run was cut short by `reason` (a stop, a lost process or worker) and its
        message goes back to the queue, or has to be sent again.

        A kind that is safe to repeat goes back to PENDING and runs again; any other
        ends FAILURE saying what happened, for a person to retry. Returns the new
        status, or None if the task had moved on (finished, or started elsewhere).
        """
        found = cls.objects.filter(task_id=task_id).values_list("kind", "name").first()
        if found is None:
            return None
        kind, name = found
        only_if = only_if or {}
        # A foreign task is never sent again from here: nothing says it is safe to.
        if kind is not None and Kind(kind).safe_to_repeat:
            changed = cls._transition(
                task_id,
                (from_status,),
                note=f"{reason}; will run again",
                only_if=only_if,
                status=Status.PENDING,
                progress=0,
                retry_at=None,
            )
            return Status.PENDING if changed else None
        changed = cls._transition(
            task_id,
            (from_status,),
            note=f"{reason}; not run again",
            only_if=only_if,
            status=Status.FAILURE,
            error=(
                f"{reason[0].upper()}{reason[1:]}; it was not run again: a "
                f"{Kind(kind).label} task is not safe to repeat. Retry it if it should run."
                if kind is not None
                else f"{reason[0].upper()}{reason[1:]}; the dashboard does not run a task "
                f"published elsewhere ({name}) again: send it again if it should run."
            ),
            retry_at=None,
            finished_at=timezone.now(),
        )
        return Status.FAILURE if changed else None

    @classmethod
    def mark_lost(cls, online_instances: set[str]) -> list[tuple[str, int, int]]:
        """Take back the tasks whose worker died under them; returns (task id,
        kind, retries) of those to queue again.

        A task is lost when the worker run that started it (`worker_instance`) no
        longer reports itself and the task itself has not moved for as long: a
        running task reports progress at every step, so a live one whose worker
        only missed heartbeats (say, while Redis was away) is left alone. A task
        waiting to retry is lost when its last worker is gone and its next try is
        well overdue. Called on every worker heartbeat; it reads only the active
        rows, along the status index. Each change is conditional on the instance
        seen here, so a task that another worker has just restarted is left alone.
        A kind safe to repeat goes back to PENDING for the caller to queue again; any
        other ends FAILURE (give_back). If the broker ever redelivers the lost
        message too (visibility timeout), mark_started lets only one copy start.
        """
        now = timezone.now()
        quiet_since = now - WorkerStatus.ONLINE_WITHIN
        candidates = (
            cls.objects.filter(
                models.Q(status=Status.STARTED, updated_at__lt=quiet_since)
                | models.Q(status=Status.RETRY, retry_at__lt=now - LOST_RETRY_GRACE)
            )
            .exclude(worker_instance="")  # started before instances were recorded
            .exclude(worker_instance__in=online_instances)
            .values_list("task_id", "kind", "attempts", "worker", "worker_instance", "status")
        )
        requeued = []
        for task_id, kind, attempts, worker, instance, status in candidates:
            running = status == Status.STARTED
            still: dict[str, Any] = {"worker_instance": instance}
            if running:
                still["updated_at__lt"] = quiet_since  # no progress in between
            while_ = "while running this task" if running else "before the next try"
            outcome = cls.give_back(
                str(task_id), f"worker {worker} was lost {while_}", status, still
            )
            if outcome == Status.PENDING:
                # The same try again if it was running; the next one if it was due.
                requeued.append((str(task_id), kind, max(attempts - 1, 0) + (not running)))
        return requeued

    @classmethod
    def note_queued_again(cls, task_id: str, note: str) -> bool:
        """A waiting task's message was sent again: a timeline event, no change of state."""
        return cls._transition(task_id, (Status.PENDING,), note=note, status=Status.PENDING)

    @classmethod
    def mark_cancelled(
        cls, task_id: str, note: str, allowed: tuple[str, ...] = CANCELLABLE_STATUSES
    ) -> bool:
        return cls._transition(
            task_id,
            allowed,
            note=note,
            status=Status.REVOKED,
            retry_at=None,
            finished_at=timezone.now(),
        )

    @classmethod
    def mark_cancelled_many(cls, task_ids: list[str], note: str) -> int:
        """mark_cancelled for a batch (running/bulk.py): the same conditional change in one
        UPDATE and one INSERT of events, not two statements per task; returns how
        many changed. The rows are locked as read, so the UPDATE changes exactly
        those (SQLite's IMMEDIATE transaction holds the write lock from the start)."""
        now = timezone.now()
        with transaction.atomic(savepoint=False):
            pks = list(
                cls.objects.select_for_update()
                .filter(task_id__in=task_ids, status__in=CANCELLABLE_STATUSES)
                .values_list("pk", flat=True)
            )
            if not pks:
                return 0
            cls.objects.filter(pk__in=pks).update(
                status=Status.REVOKED,
                retry_at=None,
                finished_at=now,
                run_time=models.ExpressionWrapper(
                    models.Value(now) - models.F("started_at"),
                    output_field=models.DurationField(),
                ),
                updated_at=now,
            )
            TaskEvent.objects.bulk_create(
                TaskEvent(task_id=pk, status=Status.REVOKED, at=now, note=note) for pk in pks
            )
        return len(pks)


# How the task id column is written, for the statements built by hand below.
TASK_ID = models.UUIDField()


class TaskEvent(models.Model):
    """One change of state of a task, for its timeline."""

    task = models.ForeignKey(TaskRecord, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=9, choices=Status.choices)
    at = models.DateTimeField()
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status} at {self.at.isoformat()}"

    @classmethod
    def append(cls, task_id: str, status: str, at: datetime, note: str) -> None:
        """Add an event to the timeline of the task with Celery id `task_id`: one
        INSERT ... SELECT, where the ORM needs a read of the record's key and an
        insert (every state change writes one; a worker writes them the most)."""
        connection = connections[router.db_for_write(cls)]
        quote = connection.ops.quote_name
        tasks, events = quote(TaskRecord._meta.db_table), quote(cls._meta.db_table)
        sql = (
            f"INSERT INTO {events} (task_id, status, at, note) "  # noqa: S608
            f"SELECT id, %s, %s, %s FROM {tasks} WHERE task_id = %s"
        )
        params = [
            status,
            connection.ops.adapt_datetimefield_value(at),
            note,
            TASK_ID.get_db_prep_save(uuid.UUID(task_id), connection),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


_INSERTS: "dict[tuple[str, type[models.Model]], tuple[str, list[models.Field[Any, Any]]]]" = {}


def insert(instance: models.Model) -> None:
    """INSERT a new row for `instance` and set its primary key, as save() would, with
    a statement built once per model and database: on a submit, Django's save()
    spent longer compiling its INSERT than SQLite took to run it. No signals are
    sent (nothing here listens to them)."""
    db = router.db_for_write(type(instance))
    connection = connections[db]
    if not connection.features.can_return_columns_from_insert:
        instance.save(force_insert=True, using=db)
        return
    key = (db, type(instance))
    if key not in _INSERTS:
        meta = instance._meta
        fields = [f for f in meta.concrete_fields if f is not meta.pk]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(str(f.column)) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        # Only the model's own table and column names go into the text; values are
        # parameters.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
            f"VALUES ({placeholders}) RETURNING {quote(str(meta.pk.column))}"
        )
        _INSERTS[key] = (sql, fields)
    sql, fields = _INSERTS[key]
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = db


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SUMMARY_VALUE_CHARS else text[: SUMMARY_VALUE_CHARS - 1] + "…"


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


class TaskOutput(models.Model):
    """A task's own output once its run ended: the last lines it logged, bounded as
    running/output.py keeps them, and how much was dropped. While it runs the lines live in
    Redis (running/output.py); one row per task, written once per run, never per line."""

    # Goes with its task: record.delete() cascades here, and retention (which deletes
    # records without loading them) deletes outputs as it deletes timeline events.
    task = models.OneToOneField(
        TaskRecord, on_delete=models.CASCADE, primary_key=True, related_name="output"
    )
    lines = models.JSONField(default=list)
    dropped_lines = models.PositiveIntegerField(default=0)
    dropped_bytes = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"output of task {self.pk}: {len(self.lines)} lines"

    @classmethod
    def keep(cls, task_id: str, lines: list[str], dropped_lines: int, dropped_bytes: int) -> bool:
        """Store (or replace) the output of the task with this id; False if it has no
        record (Celery's own tasks, a task deleted while it ran)."""
        pk = TaskRecord.objects.filter(task_id=task_id).values_list("pk", flat=True).first()
        if pk is None:
            return False
        TaskOutput.objects.bulk_create(
            [
                TaskOutput(
                    task_id=pk,
                    lines=lines,
                    dropped_lines=dropped_lines,
                    dropped_bytes=dropped_bytes,
                )
            ],
            update_conflicts=True,
            unique_fields=["task"],
            update_fields=["lines", "dropped_lines", "dropped_bytes"],
        )
        return True
