"""Roles: viewer, operator, admin, each a Django group with the dashboard's permissions."""

from typing import Any

from django.db import models


class Role(models.TextChoices):
    """The dashboard's roles, each a Django group of that name (migration 0018) whose
    permissions say what it may do (access/roles.py and the README's Roles section)."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class DashboardPermissions(models.Model):
    """No table: the holder of the dashboard's own permissions (`tasks.<codename>`),
    which the role groups are given. access.roles.requires checks them."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("launch_task", "Launch tasks (launch buttons, catalogue forms, POST /tasks/)"),
            ("steer_task", "Cancel, retry, run now, delete and clear the tasks one sees"),
            ("manage_schedules", "Add, edit, switch, run and delete the schedules one sees"),
            ("bulk_act", "Cancel, retry or delete many of the tasks one sees at once"),
            ("steer_queue", "Pause and resume queues (they hold everyone's tasks)"),
            ("view_all_tasks", "See every user's tasks and schedules, not only one's own"),
            ("view_audit", "Read the audit trail"),
        ]

    def __str__(self) -> str:
        return "the dashboard's permissions"


ROLE_GROUPS = [role.value for role in Role]  # weakest first


def role_of(user: Any) -> Role:
    """A user's role: staff and superusers are admins; otherwise the strongest role
    group they are in; a user in none is an operator (as every user was before roles)."""
    if user.is_staff or user.is_superuser:
        return Role.ADMIN
    names = set(user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True))
    for role in reversed(Role):
        if role.value in names:
            return role
    return Role.OPERATOR
