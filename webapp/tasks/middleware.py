"""Middleware of our own: keeping bodiless answers small, and refusing query strings
Django can't parse with a readable 400.

Keeping bodiless answers small: an idle dashboard's poll is a bare 204.
Content-Security-Policy, X-Frame-Options, Cross-Origin-Opener-Policy,
Referrer-Policy and X-Content-Type-Options govern a document or a body: how it may
run, be framed, sniffed, or what its links send. A 204 (or 304) has neither, so
the headers do nothing there, yet they would be most of the bytes of the poll an
idle dashboard sends every few seconds. Every response with a body keeps them all.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponseBase, QueryDict

from webapp.tasks.representations import error_response

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
