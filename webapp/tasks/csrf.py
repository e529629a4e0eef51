"""CSRF protection for browsers, without getting in the way of scripts.

A cross-site request forgery borrows what the victim's browser adds by itself:
cookies (a session) and its place on the network (a dashboard on localhost or an
intranet). Browsers mark every cross-origin POST with an `Origin` header, and
pages can't remove it; they also send the site's cookies. A request with neither
cookies nor `Origin` therefore did not come from a page in someone's browser: it
is a script such as curl, which could send the same request itself and borrows
nothing. Those skip the token check; everything else gets Django's full check
(Origin against the allowed hosts, and the token).
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware

from webapp.tasks.web.representations import error_response


def is_script_request(request: HttpRequest) -> bool:
    return "HTTP_COOKIE" not in request.META and "HTTP_ORIGIN" not in request.META


class BrowserCsrfMiddleware(CsrfViewMiddleware):
    def process_view(  # type: ignore[override]  # may also answer 400 and 413
        self,
        request: HttpRequest,
        callback: Callable[..., Any],
        callback_args: tuple[Any, ...],
        callback_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if is_script_request(request):
            return None
        try:
            return super().process_view(request, callback, callback_args, callback_kwargs)
        except RequestDataTooBig:
            return error_response(request, 413, "The request body is too large.")
        except (TooManyFieldsSent, TooManyFilesSent, MultiPartParserError) as exc:
            # Django would answer 400 too, but log a traceback for each.
            return error_response(request, 400, f"Malformed form body: {exc}")
