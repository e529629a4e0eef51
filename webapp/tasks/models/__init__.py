"""The app's models, one module per part; Django finds them here.

record: the task record, its state machine and timeline (TaskRecord, TaskEvent, Status).
rollups: counts kept by triggers (StatusCount, OwnerStatusCount, FinishedMinute).
workers: workers and queues (WorkerStatus, QueueState).
tokens: bearer tokens (ApiToken). schedules: periodic schedules (Schedule).
"""

from webapp.tasks.models.record import (
    ACTIVE_STATUSES,
    CANCELLABLE_STATUSES,
    DASHBOARD_TASK,
    FINISHED_STATUSES,
    LATE_AFTER,
    LOST_RETRY_GRACE,
    RETRYABLE_STATUSES,
    STARTABLE_STATUSES,
    SUMMARY_VALUE_CHARS,
    Status,
    TaskEvent,
    TaskRecord,
    insert,
)
from webapp.tasks.models.rollups import FinishedMinute, OwnerStatusCount, StatusCount
from webapp.tasks.models.schedules import Schedule
from webapp.tasks.models.tokens import ApiToken
from webapp.tasks.models.workers import QueueState, WorkerStatus

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELLABLE_STATUSES",
    "DASHBOARD_TASK",
    "FINISHED_STATUSES",
    "LATE_AFTER",
    "LOST_RETRY_GRACE",
    "RETRYABLE_STATUSES",
    "STARTABLE_STATUSES",
    "SUMMARY_VALUE_CHARS",
    "ApiToken",
    "FinishedMinute",
    "OwnerStatusCount",
    "QueueState",
    "Schedule",
    "Status",
    "StatusCount",
    "TaskEvent",
    "TaskRecord",
    "WorkerStatus",
    "insert",
]
