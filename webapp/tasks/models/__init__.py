"""The app's models, one module per part; Django finds them here.

record: the task record, its state machine, timeline and output (TaskRecord, TaskEvent,
TaskOutput, Status).
rollups: counts kept by triggers (StatusCount, OwnerStatusCount, FinishedMinute).
workers: workers and queues (WorkerStatus, QueueState). metrics: MetricBin.
audit: AuditEntry. bulk: BulkJob. tokens: bearer tokens (ApiToken).
roles: Role, the permissions' holder, role_of. schedules: periodic schedules (Schedule).
"""

from webapp.tasks.models.audit import AuditAction, AuditChannel, AuditEntry
from webapp.tasks.models.bulk import BULK_TASK, BulkJob
from webapp.tasks.models.metrics import MetricBin
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
    TaskOutput,
    TaskRecord,
    insert,
)
from webapp.tasks.models.roles import ROLE_GROUPS, DashboardPermissions, Role, role_of
from webapp.tasks.models.rollups import FinishedMinute, OwnerStatusCount, StatusCount
from webapp.tasks.models.schedules import Schedule
from webapp.tasks.models.tokens import ApiToken
from webapp.tasks.models.workers import QueueState, WorkerStatus

__all__ = [
    "ACTIVE_STATUSES",
    "BULK_TASK",
    "CANCELLABLE_STATUSES",
    "DASHBOARD_TASK",
    "FINISHED_STATUSES",
    "LATE_AFTER",
    "LOST_RETRY_GRACE",
    "RETRYABLE_STATUSES",
    "ROLE_GROUPS",
    "STARTABLE_STATUSES",
    "SUMMARY_VALUE_CHARS",
    "ApiToken",
    "AuditAction",
    "AuditChannel",
    "AuditEntry",
    "BulkJob",
    "DashboardPermissions",
    "FinishedMinute",
    "MetricBin",
    "OwnerStatusCount",
    "QueueState",
    "Role",
    "Schedule",
    "Status",
    "StatusCount",
    "TaskEvent",
    "TaskOutput",
    "TaskRecord",
    "WorkerStatus",
    "insert",
    "role_of",
]
