"""Counts kept by database triggers, so the dashboard reads a few rows instead of
counting the history: tasks per status (overall and per owner), finished per minute."""

from datetime import timedelta

from django.db import models

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models.record import Status


class StatusCount(models.Model):
    """How many tasks are in each status, kept exact by database triggers on every
    insert, delete and status change (migration 0002), so the dashboard's counters
    read six rows instead of counting the whole history."""

    status = models.CharField(max_length=9, choices=Status.choices, primary_key=True)
    count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.status}: {self.count}"

    @classmethod
    def as_dict(cls) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        counts.update(cls.objects.values_list("status", "count"))
        return counts


class OwnerStatusCount(models.Model):
    """One user's tasks per status, kept by triggers as StatusCount is (migration
    0010), so that a user who sees only their own tasks gets counters in six rows
    whatever their history. Tasks without an owner are in StatusCount only."""

    # A user's id without a foreign key: the triggers write it, and a deleted user's
    # rows fall to zero as their tasks lose the owner.
    owner_id = models.BigIntegerField()
    status = models.CharField(max_length=9, choices=Status.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner_id", "status"], name="owner_status_unique")
        ]

    def __str__(self) -> str:
        return f"user {self.owner_id} {self.status}: {self.count}"


class FinishedMinute(models.Model):
    """Tasks that finished in one minute, of one kind and outcome: how many, and the
    sum of their run times. Kept exact by triggers on every insert, delete and change
    of a task record (migration 0010), so that the charts read at most a row per
    minute, kind and outcome, however many tasks finished in the hour. A finished
    task counts twice: under its owner, and under EVERYONE."""

    EVERYONE = 0  # the owner_id of the rows that count every task, owned or not
    # The kind under which foreign tasks (no kind, see running/seen.py) are counted
    # (migration 0016): the largest value the column takes, never a Kind.
    ELSEWHERE = 32767

    minute = models.DateTimeField()
    kind = models.PositiveSmallIntegerField(choices=Kind.choices)
    status = models.CharField(max_length=9, choices=Status.choices)
    owner_id = models.BigIntegerField()  # a user's id, or EVERYONE; no foreign key
    count = models.BigIntegerField(default=0)
    timed = models.BigIntegerField(default=0)  # how many of them have a run time
    run_time = models.DurationField(default=timedelta(0))  # the sum of those

    class Meta:
        constraints = [
            # The triggers' upsert key, and the charts' range: one owner, an hour.
            models.UniqueConstraint(
                fields=["owner_id", "minute", "kind", "status"], name="finished_minute_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.minute:%H:%M} {self.status} kind {self.kind}: {self.count}"
