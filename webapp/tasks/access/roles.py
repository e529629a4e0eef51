"""Roles and permissions: what a request may do (`request_permissions`: its user's
role, a token's role within that). Every view that acts says which permission it needs
with `@requires`, whose refusal is the one 403 naming it."""

from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from webapp.tasks.models import (
    ROLE_GROUPS,
    DashboardPermissions,
    Role,
    role_of,
)
from webapp.tasks.web.representations import View, error_response

EVERY_PERMISSION = frozenset(
    f"tasks.{codename}" for codename, _ in DashboardPermissions._meta.permissions
)


CODENAMES = [permission.removeprefix("tasks.") for permission in EVERY_PERMISSION]


VIEW_ALL = "tasks.view_all_tasks"


STEER_QUEUE = "tasks.steer_queue"


@cache
def _permission_statements() -> tuple[str, str]:
    """The two statements that read permissions: a user's (their own, their groups',
    and the operator group's when they are in no role group) and a role group's.
    Written out once: the same query through the ORM took 20 times longer to compile
    than SQLite took to run it, and every logged-in poll asks. Only the models' own
    table and column names go into the text; values are parameters."""
    q = connection.ops.quote_name
    user_perms = get_user_model().user_permissions.through._meta
    user_groups = get_user_model().groups.through._meta
    group_perms = Group.permissions.through._meta
    up, up_user, up_perm = (
        q(user_perms.db_table),
        q(user_perms.get_field("user").column),
        q(user_perms.get_field("permission").column),
    )
    ug, ug_user, ug_group = (
        q(user_groups.db_table),
        q(user_groups.get_field("user").column),
        q(user_groups.get_field("group").column),
    )
    gp, gp_group, gp_perm = (
        q(group_perms.db_table),
        q(group_perms.get_field("group").column),
        q(group_perms.get_field("permission").column),
    )
    perm, ctype, group = (q(m._meta.db_table) for m in (Permission, ContentType, Group))
    codenames = ", ".join(["%s"] * len(CODENAMES))
    roles = ", ".join(["%s"] * len(ROLE_GROUPS))
    ours = (
        f"SELECT p.codename FROM {perm} p JOIN {ctype} ct ON ct.id = p.content_type_id "  # noqa: S608
        f"WHERE ct.app_label = 'tasks' AND p.codename IN ({codenames})"
    )
    of_group = (
        f"SELECT gp.{gp_perm} FROM {gp} gp JOIN {group} g ON g.id = gp.{gp_group} WHERE g.name = %s"  # noqa: S608
    )
    of_user = (
        f"{ours} AND (p.id IN (SELECT {up_perm} FROM {up} WHERE {up_user} = %s)"  # noqa: S608
        f" OR p.id IN (SELECT gp.{gp_perm} FROM {gp} gp"
        f" JOIN {ug} ug ON ug.{ug_group} = gp.{gp_group} WHERE ug.{ug_user} = %s)"
        f" OR (p.id IN ({of_group}) AND NOT EXISTS (SELECT 1 FROM {ug} ug"
        f" JOIN {group} g ON g.id = ug.{ug_group}"
        f" WHERE ug.{ug_user} = %s AND g.name IN ({roles}))))"
    )
    return of_user, f"{ours} AND p.id IN ({of_group})"


def _codenames(statement: str, params: list[Any]) -> frozenset[str]:
    with connection.cursor() as cursor:
        cursor.execute(statement, [*CODENAMES, *params])
        return frozenset(f"tasks.{codename}" for (codename,) in cursor.fetchall())


def group_permissions(role: Role) -> frozenset[str]:
    """The dashboard permissions of a role's group."""
    return _codenames(_permission_statements()[1], [role.value])


def permissions_of(user: Any) -> frozenset[str]:
    """The dashboard permissions `user` has: one query, then kept on the user object,
    which lives as long as its request."""
    kept: frozenset[str] | None = getattr(user, "_dashboard_permissions", None)
    if kept is not None:
        return kept
    if not (user.is_authenticated and user.is_active):
        granted: frozenset[str] = frozenset()
    elif user.is_staff or user.is_superuser:
        granted = EVERY_PERMISSION
    else:
        params = [user.pk, user.pk, Role.OPERATOR.value, user.pk, *ROLE_GROUPS]
        granted = _codenames(_permission_statements()[0], params)
    user._dashboard_permissions = granted
    return granted


def request_permissions(request: HttpRequest) -> frozenset[str]:
    """What this request may do: its user's permissions, within its token's role."""
    kept: frozenset[str] | None = getattr(request, "_dashboard_permissions", None)
    if kept is not None:
        return kept
    token_role: Role | None = getattr(request, "token_role", None)
    user = getattr(request, "user", None)
    if token_role is None and not settings.DASHBOARD_REQUIRE_LOGIN:
        granted = EVERY_PERMISSION
    elif user is None:
        granted = frozenset()
    else:
        granted = permissions_of(user)
        if token_role is not None:
            granted &= group_permissions(token_role)
    request._dashboard_permissions = granted  # type: ignore[attr-defined]
    return granted


def may(request: HttpRequest, permission: str) -> bool:
    return permission in request_permissions(request)


def may_codes(request: HttpRequest) -> tuple[str, ...]:
    """The request's permissions as short names, sorted: what templates test
    (`may.steer_task`) and, in a TableQuery, part of the live fragment's version,
    so dashboards that may do different things never share one."""
    return tuple(sorted(p.removeprefix("tasks.") for p in request_permissions(request)))


def refusal(request: HttpRequest, permission: str) -> HttpResponse:
    """The one refusal: a 403 naming the missing permission, the roles that have it
    and the role the request acts with, in the negotiated form."""
    holders = Group.objects.filter(
        name__in=ROLE_GROUPS,
        permissions__content_type__app_label="tasks",
        permissions__codename=permission.removeprefix("tasks."),
    ).values_list("name", flat=True)
    roles = sorted(set(holders), key=ROLE_GROUPS.index)
    which = f"role {' or '.join(roles)}" if roles else "no role has it"
    token_role: Role | None = getattr(request, "token_role", None)
    if token_role is not None:
        acting = f"this token's role is {token_role.value}"
    else:
        acting = f"your role is {role_of(request.user).value}"
    message = f"Forbidden: needs permission {permission} ({which}); {acting}."
    return error_response(request, 403, message)


def requires(permission: str, *, methods: tuple[str, ...] | None = None) -> Callable[[View], View]:
    """Refuse the view (403) to requests without `permission`; with `methods`, only
    requests of those methods (a view that lists on GET and launches on POST). Goes
    under @negotiated, so a wrong method is still a 405. Every view that changes
    something declares its permission this way: tests/unit/test_roles.py walks the
    URLs and fails on an unsafe method without one."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if (methods is None or request.method in methods) and not may(request, permission):
                return refusal(request, permission)
            return view(request, *args, **kwargs)

        # Read by the URL walk in tests/unit/test_roles.py; "*": every method.
        wrapper.__dict__["permissions"] = dict.fromkeys(methods or ("*",), permission)
        return wrapper

    return decorate
