"""Owner scope: whose tasks a request sees. Users who may not view all tasks see and
steer only the tasks they launched; a task they may not see is a 404, exactly like one
that does not exist. Every query that lists, counts, reads or deletes tasks starts here."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from webapp.tasks.access.roles import VIEW_ALL, may, permissions_of
from webapp.tasks.models import (
    BulkJob,
    FinishedMinute,
    OwnerStatusCount,
    Schedule,
    Status,
    StatusCount,
    TaskRecord,
)


def task_owner(request: HttpRequest) -> Any:
    """The user to record as a new task's owner, if anyone is logged in."""
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def owner_scope(request: HttpRequest) -> int | None:
    """Whose tasks this request may see: a user id, or None for everyone's. Every
    query that lists, counts, reads or deletes tasks starts from this answer, through
    `visible_tasks` or a TableQuery (whose owner answers.table_query sets from it)."""
    if not settings.DASHBOARD_REQUIRE_LOGIN or may(request, VIEW_ALL):
        return None
    user: Any = request.user  # within a token's role: not scope_of(user)
    return int(user.pk)


def scope_of(user: Any) -> int | None:
    """Whose tasks `user` sees with login on: everyone's with tasks.view_all_tasks
    (admins, viewers, staff), else their own. A task acting for its owner (the CSV
    export) reads by this rule too; a task with no owner was launched with login
    off, where everyone sees everyone's."""
    if user is None or VIEW_ALL in permissions_of(user):
        return None
    return int(user.pk)


# --- Roles and permissions -------------------------------------------------------------
# A role is a Django group (migration 0018 makes viewer, operator and admin) and what
# it may do is the group's permissions, so the admin can change them. Staff and
# superusers have every permission; a user in no role group has the operator
# group's; a token has its role's, within its user's; with login off, a request
# without a token has every permission (this machine alone uses it).


def tasks_of(owner: int | None) -> QuerySet[TaskRecord]:
    """The tasks an owner scope covers (None: everyone's)."""
    tasks = TaskRecord.objects.all()
    return tasks if owner is None else tasks.filter(owner_id=owner)


def finished_minutes_of(owner: int | None) -> QuerySet[FinishedMinute]:
    """The per-minute rollup of the tasks an owner scope covers: the same tasks as
    tasks_of(owner), summed by the triggers of migration 0010."""
    return FinishedMinute.objects.filter(
        owner_id=FinishedMinute.EVERYONE if owner is None else owner
    )


def status_counts_of(owner: int | None) -> dict[str, int]:
    """Tasks per status in an owner scope, from the trigger-kept counts: six rows."""
    if owner is None:
        return StatusCount.as_dict()
    counts = {status.value: 0 for status in Status}
    counts.update(OwnerStatusCount.objects.filter(owner_id=owner).values_list("status", "count"))
    return counts


def visible_tasks(request: HttpRequest) -> QuerySet[TaskRecord]:
    return tasks_of(owner_scope(request))


def visible_schedules(request: HttpRequest) -> QuerySet[Schedule]:
    """The periodic schedules this request may see and steer: the same owner scope as
    its tasks (a schedule's runs are its owner's tasks)."""
    owner = owner_scope(request)
    schedules = Schedule.objects.all()
    return schedules if owner is None else schedules.filter(owner_id=owner)


def visible_bulk_jobs(request: HttpRequest) -> QuerySet[BulkJob]:
    """The bulk jobs this request may follow: those asked within its owner scope (a
    job reports on tasks; its counts are no one else's business)."""
    owner = owner_scope(request)
    jobs = BulkJob.objects.all()
    return jobs if owner is None else jobs.filter(user_id=owner)
