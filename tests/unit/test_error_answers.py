"""Error answers never raise, whatever the request: a query string of more fields
than Django parses (TooManyFieldsSent on every read of request.GET) still gets a
400, 403, 404 or 500 in the form the client asked for."""

from collections.abc import Callable

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from webapp.tasks.web import views
from webapp.tasks.web.middleware import QueryLimitMiddleware
from webapp.tasks.web.representations import Answer, answer_for

TOO_MANY_FIELDS = "/tasks/?" + "a&" * 1001 + "format=json"
FORMS = {
    "json": ({"Accept": "*/*"}, "application/json"),
    "page": ({"Accept": "text/html"}, "text/html"),
    "fragment": ({"Accept": "text/html", "HX-Request": "true"}, "text/html"),
}
HANDLERS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "bad_request": views.bad_request,
    "forbidden": views.forbidden,
    "not_found": views.not_found,
    "server_error": views.server_error,
    "csrf_failure": views.csrf_failure,
}


def request_for(form: str) -> HttpRequest:
    request = RequestFactory().get(TOO_MANY_FIELDS, headers=FORMS[form][0])
    HtmxMiddleware(lambda r: HttpResponse())(request)
    return request


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("handler", list(HANDLERS))
def test_error_handlers_answer_a_query_of_too_many_fields(handler: str, form: str) -> None:
    response = HANDLERS[handler](request_for(form))

    assert 400 <= response.status_code < 600
    assert response["Content-Type"].startswith(FORMS[form][1])


def test_answer_for_ignores_a_query_it_cannot_parse() -> None:
    assert answer_for(request_for("page")) is Answer.PAGE


@pytest.mark.parametrize("form", list(FORMS))
def test_the_query_limit_answers_400_in_the_clients_form(form: str) -> None:
    reached_view: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        reached_view.append(request)
        return HttpResponse()

    response = QueryLimitMiddleware(view)(request_for(form))

    assert response.status_code == 400
    assert response["Content-Type"].startswith(FORMS[form][1])
    assert isinstance(response, HttpResponse)
    assert b"Too many query parameters; send at most 1000." in response.content
    assert not reached_view
