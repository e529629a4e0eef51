"""Choosing how to answer a request: an HTMX fragment, a full HTML page, or JSON.

Views decide what to say; this module decides the form, in one place. HTMX
requests get fragments, browser navigations (`Accept: text/html`) get pages, and
everything else (curl's `*/*`, `application/json`) gets JSON.
"""

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


class BadInput(Exception):
    """The request can't be served as sent; the message says why, the status how."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Answer(enum.Enum):
    FRAGMENT = "fragment"
    PAGE = "page"
    JSON = "json"


def answer_for(request: HttpRequest) -> Answer:
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        # (A history restore after a cache miss needs the whole page back.)
        return Answer.FRAGMENT
    if query_param(request, "format") == "json":  # lets a browser link show the JSON
        return Answer.JSON
    preferred = request.get_preferred_type(["application/json", "text/html"])
    return Answer.PAGE if preferred == "text/html" else Answer.JSON


def answered(
    request: HttpRequest,
    *,
    json: Callable[[], HttpResponse],
    fragment: Callable[[], HttpResponse],
    page: Callable[[], HttpResponse],
) -> HttpResponse:
    """The answer in the form the request asked for, building only that one: the
    three-way branch every action and listing would otherwise copy."""
    answer = answer_for(request)
    if answer is Answer.JSON:
        return json()
    if answer is Answer.FRAGMENT:
        return fragment()
    return page()


def query_param(request: HttpRequest, name: str) -> str | None:
    """One query parameter, or None also when the query string can't be parsed (too
    many fields): choosing the form of an answer, error answers included, must never
    raise (QueryLimitMiddleware answers such a request with a 400)."""
    try:
        return request.GET.get(name)
    except TooManyFieldsSent:
        return None


class NothingChanged(HttpResponse):
    """204 to a poll whose version still holds: htmx swaps nothing and keeps polling.

    Nothing to run or frame, so no Content-Security-Policy is built for it (as
    django.views.decorators.csp.csp_override({}) marks a response): building one
    draws a fresh nonce, and BodilessResponseMiddleware would drop it anyway."""

    status_code = 204

    def __init__(self) -> None:
        super().__init__()
        self._csp_config: dict[str, object] = {}
        self._csp_ro_config: dict[str, object] = {}


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a form post, the browser GETs the target instead of re-posting."""

    status_code = 303


def error_response(
    request: HttpRequest, status: int, message: str, errors: dict[str, str] | None = None
) -> HttpResponse:
    """The one error shape: `{"error": ...}` for JSON (and `errors`, what is wrong
    with each named field, when there are several), the error template for HTML."""
    answer = answer_for(request)
    if answer is Answer.JSON:
        body: dict[str, object] = {"error": message} | ({"errors": errors} if errors else {})
        response: HttpResponse = JsonResponse(body, status=status)
    else:
        template = "error.html#message" if answer is Answer.FRAGMENT else "error.html"
        context = {"status": status, "message": message}
        response = render(request, template, context, status=status)
    patch_vary_headers(response, ["Accept", "HX-Request"])
    return response


View = Callable[..., HttpResponse]


def negotiated(*methods: str) -> Callable[[View], View]:
    """Allow only `methods` (HEAD comes with GET), answering others with a readable
    405; turn BadInput into the error answer; mark the response as varying by the
    headers that pick its form."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = error_response(
                    request,
                    405,
                    f"Method {request.method} is not allowed here; "
                    f"use {' or '.join(sorted(allowed - {'HEAD'}))}.",
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            try:
                response = view(request, *args, **kwargs)
            except BadInput as exc:
                response = error_response(request, exc.status, exc.message)
            patch_vary_headers(response, ["Accept", "HX-Request"])
            return response

        return wrapper

    return decorate
