"""Middleware of our own: keeping bodiless answers small, and refusing query strings
Django can't parse with a readable 400.

Keeping bodiless answers small: an idle dashboard's poll is a bare 204.
Content-Security-Policy, X-Frame-Options, Cross-Origin-Opener-Policy,
Referrer-Policy and X-Content-Type-Options govern a document or a body: how it may
run, be framed, sniffed, or what its links send. A 204 (or 304) has neither, so
the headers do nothing there, yet they would be most of the bytes of the poll an
idle dashboard sends every few seconds. Every response with a body keeps them all.

Also the two answers given before anything else looks at a request: the health
check, and the refusal of a body that says it is too large.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict

from webapp.tasks.web import views
from webapp.tasks.web.representations import error_response

logger = logging.getLogger(__name__)

BODILESS_STATUSES = {204, 304}
DOCUMENT_ONLY_HEADERS = (
    "Content-Security-Policy",
    "Content-Security-Policy-Report-Only",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "Content-Type",  # of no content
)


class BodilessResponseMiddleware:
    """First in MIDDLEWARE, so it sees the headers every other middleware added."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code in BODILESS_STATUSES:
            for header in DOCUMENT_ONLY_HEADERS:
                response.headers.pop(header, None)
        return response


class HealthCheckMiddleware:
    """First in MIDDLEWARE: answers /healthz before anything validates the Host header.

    Container and load-balancer probes connect by address (`Host: 127.0.0.1`), while
    ALLOWED_HOSTS names the public host; the probe must not get a 400 forever. It
    says nothing but whether the database answers, so it may answer any host.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            return views.health(request)
        return self.get_response(request)


class BodySizeLimitMiddleware:
    """Refuses a body whose Content-Length is over the limit (413), before the CSRF
    check or anything else starts reading it: a client that announces 10 MB and
    sends a trickle is answered at once instead of holding a worker while it waits.

    The task URLs take a form field or a small JSON object (SUBMIT_MAX_BYTES); the
    admin's forms may be larger (DATA_UPLOAD_MAX_MEMORY_SIZE).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = self.limit_for(request.path)
        if not length.isdigit():
            return error_response(request, 400, "Content-Length must be a whole number.")
        if int(length) > limit:
            return self.too_large(request, limit)
        return self.get_response(request)

    @staticmethod
    def limit_for(path: str) -> int:
        if path.startswith("/admin/"):
            return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or settings.SUBMIT_MAX_BYTES)
        return int(settings.SUBMIT_MAX_BYTES)

    @staticmethod
    def too_large(request: HttpRequest, limit: int) -> HttpResponse:
        return error_response(
            request, 413, f"The request body is too large; send at most {limit} bytes."
        )


class QueryLimitMiddleware:
    """Answers 400 to a query string of more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS.

    Django raises TooManyFieldsSent on every read of such a request.GET: in a view,
    in the login check's answer, and again in each error handler, which turns a 2 KB
    `/?a&a&...` into a 500 on any URL. Last in MIDDLEWARE, so the answer is
    negotiated like any other (request.htmx is set) and carries the security headers,
    yet it runs before any view and before the login check (a process_view).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            request.GET  # noqa: B018  (parsed once, then cached on the request)
        except TooManyFieldsSent:
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            logger.warning("refused %s: more than %s query parameters", request.path[:80], limit)
            # The error answer reads the query too (`format=json`): give it none.
            request.GET = QueryDict()
            return error_response(request, 400, f"Too many query parameters; send at most {limit}.")
        return self.get_response(request)
