"""How long a task waited and ran, attempt by attempt, read from its timeline.

The record keeps only its latest start, so a task that was retried would seem to
have queued through its earlier attempts and run only its last one. The timeline
(TaskEvent rows) has every start: an attempt runs from a STARTED event to the event
after it, whatever that is (a retry, the outcome, another start after a lost worker).
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from webapp.tasks.models import Status, TaskEvent, TaskRecord


@dataclass(frozen=True)
class Attempt:
    number: int
    started_at: datetime
    ended_at: datetime | None  # None while it runs
    outcome: str  # the status that ended it; "" while it runs
    seconds: float  # so far, while it runs

    @property
    def outcome_label(self) -> str:
        if not self.outcome:
            return "running"
        if self.outcome == Status.STARTED:
            return "interrupted, started again"
        return Status(self.outcome).label


@dataclass(frozen=True)
class Durations:
    queued_seconds: float | None  # submission to first start (so far, while queued)
    attempts: list[Attempt]
    ran_seconds: float | None  # all attempts together; None if it never started
    finished: bool
    never_started: bool  # finished (cancelled, lost) without ever starting

    @property
    def running(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ended_at is None


def durations(
    record: TaskRecord, events: list[TaskEvent], now: datetime | None = None
) -> Durations:
    now = now or timezone.now()
    attempts: list[Attempt] = []
    for index, event in enumerate(events):
        if event.status != Status.STARTED:
            continue
        after = events[index + 1] if index + 1 < len(events) else None
        end = after.at if after else (record.finished_at if record.is_finished else None)
        attempts.append(
            Attempt(
                number=len(attempts) + 1,
                started_at=event.at,
                ended_at=end,
                outcome=after.status if after else (record.status if end else ""),
                seconds=max(0.0, ((end or now) - event.at).total_seconds()),
            )
        )
    finished = record.is_finished
    # A scheduled task queues from its time on, not from its submission.
    if attempts:
        queued: float | None = (attempts[0].started_at - record.queued_since).total_seconds()
    elif record.status == Status.SCHEDULED:
        queued = None
    else:
        waited_until = record.finished_at if finished else now
        queued = (waited_until - record.queued_since).total_seconds() if waited_until else None
    return Durations(
        queued_seconds=None if queued is None else max(0.0, queued),
        attempts=attempts,
        ran_seconds=sum(a.seconds for a in attempts) if attempts else None,
        finished=finished,
        never_started=finished and not attempts,
    )
