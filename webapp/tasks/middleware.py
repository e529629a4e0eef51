"""Keeping bodiless answers small: an idle dashboard's poll is a bare 204.

Content-Security-Policy, X-Frame-Options, Cross-Origin-Opener-Policy,
Referrer-Policy and X-Content-Type-Options govern a document or a body: how it may
run, be framed, sniffed, or what its links send. A 204 (or 304) has neither, so
the headers do nothing there, yet they would be most of the bytes of the poll an
idle dashboard sends every few seconds. Every response with a body keeps them all.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

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
