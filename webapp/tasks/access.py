"""Who may use the dashboard, and what they see and do: login (throttled), bearer
tokens, roles and their permissions, ownership, the submission rate limit, and
proxied requests to an open dashboard.

With DASHBOARD_REQUIRE_LOGIN on, browsers are sent to the login page and scripts
must send `Authorization: Bearer <token>`; other requests get 401 and nothing else.
What a request may do is its permissions (`request_permissions`): its user's role, a
token's role within that, and every view that acts says which one it needs with
`@requires`, whose refusal is a 403 naming it. No token opens the admin. Users who
may not view all tasks see and steer only the tasks they launched; a task they may
not see is a 404, exactly like one that does not exist. With login off (loopback
only), a request that came through a proxy is refused.
"""

import logging
from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.views import LoginView
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import get_usage

from webapp.tasks.models import (
    ROLE_GROUPS,
    ApiToken,
    BulkJob,
    DashboardPermissions,
    FinishedMinute,
    OwnerStatusCount,
    Role,
    Schedule,
    Status,
    StatusCount,
    TaskRecord,
    role_of,
)
from webapp.tasks.web import audit
from webapp.tasks.web.representations import Answer, View, answer_for, error_response

logger = logging.getLogger(__name__)

LOGIN_NEEDED = "Log in first, or send `Authorization: Bearer <token>` (manage.py create_token)."
ADMIN_NEEDS_LOGIN = "The admin needs a browser login; tokens open the task URLs only."


class BearerTokenMiddleware:
    """Authenticates `Authorization: Bearer <token>` requests as the token's user,
    acting with the token's role (`request_permissions`).

    A token never opens the admin, which takes a session login: a leaked script token
    must not become an operator's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() == "bearer ":
            if request.path.startswith(reverse("admin:index")):
                return error_response(request, 403, ADMIN_NEEDS_LOGIN)
            token, problem = ApiToken.authenticate(header[7:].strip())
            if token is None:
                audit.record_refused_token(request, header[7:].strip(), problem)
                response = error_response(request, 401, problem)
                response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return response
            request.user = token.user
            request.token_role = Role(token.role)  # type: ignore[attr-defined]
            request.auth_token = token  # type: ignore[attr-defined]  # who acted, for audit
        return self.get_response(request)


PROXY_HEADERS = {
    "HTTP_FORWARDED": "Forwarded",
    "HTTP_X_FORWARDED_FOR": "X-Forwarded-For",
    "HTTP_X_REAL_IP": "X-Real-IP",
}


class ProxiedWithoutLoginMiddleware:
    """Refuses requests that came through a proxy while login is off (403).

    A dashboard without login is for this machine alone: gunicorn refuses to listen
    beyond loopback without login (gunicorn.conf.py), but a reverse proxy on this
    machine could still carry anyone's requests to 127.0.0.1. Proxies mark what they
    forward; a client that forges the header only makes its own request stricter.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.DASHBOARD_REQUIRE_LOGIN:
            for key, header in PROXY_HEADERS.items():
                if key in request.META:
                    return error_response(
                        request,
                        403,
                        f"This request came through a proxy ({header}), and this dashboard "
                        "runs without login, for this machine only. For a deployment "
                        "behind a proxy set DASHBOARD_REQUIRE_LOGIN=true, a SECRET_KEY, "
                        "the public name in ALLOWED_HOSTS and PROXY_COUNT.",
                    )
        return self.get_response(request)


class DashboardLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Django's login-required middleware, when DASHBOARD_REQUIRE_LOGIN is on, and
    answering each kind of client in its own terms."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if not settings.DASHBOARD_REQUIRE_LOGIN:
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(  # type: ignore[override]  # also 401 and htmx redirects
        self, request: HttpRequest, view_func: Callable[..., Any]
    ) -> HttpResponse:
        answer = answer_for(request)
        if answer is Answer.JSON:
            response = error_response(request, 401, LOGIN_NEEDED)
            response["WWW-Authenticate"] = "Bearer"
            return response
        if answer is Answer.FRAGMENT:  # e.g. a poll after the session ended
            return HttpResponseClientRedirect(self.get_login_url(view_func))
        return super().handle_no_permission(request, view_func)


def task_owner(request: HttpRequest) -> Any:
    """The user to record as a new task's owner, if anyone is logged in."""
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def owner_scope(request: HttpRequest) -> int | None:
    """Whose tasks this request may see: a user id, or None for everyone's. Every
    query that lists, counts, reads or deletes tasks starts from this answer, through
    `visible_tasks` or a TableQuery (whose owner views.table_query sets from it)."""
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


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer, or what the PROXY_COUNT-th proxy saw."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.PROXY_COUNT:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(hops) >= settings.PROXY_COUNT:
            address = hops[-settings.PROXY_COUNT]
    return str(address)


def client_key(group: str, request: HttpRequest) -> str:
    """Who a submission counts against: the user, else the client's address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"addr:{client_address(request)}"


def seconds_until_allowed(request: HttpRequest) -> int | None:
    """Count one submission; None if allowed, else seconds until the next one is."""
    rate = settings.SUBMIT_RATE_LIMIT
    if rate.lower() in ("", "off", "none"):
        return None
    try:
        usage = get_usage(request, group="submit", key=client_key, rate=rate, increment=True)
    except Exception:  # the cache is Redis: when it is down, let submissions through
        logger.warning("rate limit not checked: cache unavailable", exc_info=True)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


# --- Login throttle ------------------------------------------------------------------
# Failed logins are counted per (account, address) and per address, never per account
# alone: a stranger guessing a user's password from elsewhere fills only their own
# buckets, so the user can still log in from their own address.


def _login_account_key(group: str, request: HttpRequest) -> str:
    username = str(request.POST.get("username", ""))[:150].casefold()
    return f"{username}|{client_address(request)}"


def _login_address_key(group: str, request: HttpRequest) -> str:
    return client_address(request)


LOGIN_BUCKETS = (
    ("login-account", _login_account_key, "LOGIN_FAILURES_PER_ACCOUNT"),
    ("login-address", _login_address_key, "LOGIN_FAILURES_PER_ADDRESS"),
)


def login_wait(request: HttpRequest, count_failure: bool = False) -> int | None:
    """Seconds until this client may try to log in again, or None if it may now.
    With `count_failure`, first count a failed login in each bucket."""
    wait = None
    for group, key, setting in LOGIN_BUCKETS:
        rate = getattr(settings, setting)
        if rate.lower() in ("", "off", "none"):
            continue
        try:
            usage = get_usage(request, group=group, key=key, rate=rate, increment=count_failure)
        except Exception:  # the cache is Redis: when it is down, logins still work
            logger.warning("login throttle not checked: cache unavailable", exc_info=True)
            return None
        if usage is not None and usage["count"] >= usage["limit"]:
            wait = max(wait or 0, max(1, int(usage["time_left"])))
    return wait


class ThrottledLoginView(LoginView):
    """Django's login view, refusing (429) a client that failed too often lately,
    before any password is checked."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = login_wait(request)
        if wait is not None:
            logger.warning("login throttled for %s", client_address(request))
            response = error_response(
                request,
                429,
                f"Too many failed logins from this address; try again in {wait} seconds.",
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        login_wait(self.request, count_failure=True)
        audit.record_failed_login(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)
