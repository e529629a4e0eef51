"""Who is asking: login (with DASHBOARD_REQUIRE_LOGIN on, browsers go to the login
page, scripts send `Authorization: Bearer <token>`, others get 401), bearer tokens,
the login throttle, and proxied requests to an open dashboard (refused). No token
opens the admin."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import get_usage

from webapp.tasks.access.throttle import client_address
from webapp.tasks.models import (
    ApiToken,
    Role,
)
from webapp.tasks.web import audit
from webapp.tasks.web.representations import Answer, answer_for, error_response

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
