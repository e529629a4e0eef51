"""Who may use the dashboard, and what they see: login (throttled), bearer tokens,
ownership, who may pause queues, the submission rate limit, and proxied requests to
an open dashboard.

With DASHBOARD_REQUIRE_LOGIN on, browsers are sent to the login page and scripts
must send `Authorization: Bearer <token>`; other requests get 401 and nothing else.
Read-only tokens only read; no token opens the admin. Users who are not staff see
and steer only the tasks they launched; a task they may not see is a 404, exactly
like one that does not exist. With login off (loopback only), a request that came
through a proxy is refused.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import LoginView
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import get_usage

from webapp.tasks.models import (
    ApiToken,
    FinishedMinute,
    OwnerStatusCount,
    Schedule,
    Status,
    StatusCount,
    TaskRecord,
)
from webapp.tasks.web.representations import Answer, answer_for, error_response

logger = logging.getLogger(__name__)

LOGIN_NEEDED = "Log in first, or send `Authorization: Bearer <token>` (manage.py create_token)."
READ_ONLY_REFUSAL = (
    "This token is read-only: it can list and read tasks, not launch or steer them "
    "(manage.py create_token USER makes one that can)."
)
ADMIN_NEEDS_LOGIN = "The admin needs a browser login; tokens open the task URLs only."
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class BearerTokenMiddleware:
    """Authenticates `Authorization: Bearer <token>` requests as the token's user.

    A read-only token may only read (GET, HEAD); a token never opens the admin, which
    takes a session login: a leaked script token must not become an operator's.
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
                response = error_response(request, 401, problem)
                response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return response
            if token.read_only and request.method not in SAFE_METHODS:
                return error_response(request, 403, READ_ONLY_REFUSAL)
            request.user = token.user
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
    if not settings.DASHBOARD_REQUIRE_LOGIN:
        return None
    return scope_of(request.user)


def scope_of(user: Any) -> int | None:
    """Whose tasks `user` sees with login on: staff everyone's, others their own. A
    task acting for its owner (the CSV export) reads by this rule too; a task with no
    owner was launched with login off, where everyone sees everyone's."""
    if user is None or user.is_staff:
        return None
    return int(user.pk)


QUEUES_NEED_STAFF = (
    "Only staff may pause or resume a queue: a queue holds everyone's tasks, not only yours."
)


def steers_queues(owner: int | None) -> bool:
    """Who may pause and resume queues: whoever sees everyone's tasks (staff, or
    anyone while login is off, on this machine alone). The workers panel, shared by
    every dashboard of the same owner scope, shows the buttons by this rule too."""
    return owner is None


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
        return super().form_invalid(form)
