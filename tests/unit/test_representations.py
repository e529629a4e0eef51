"""One helper picks fragment, page or JSON from the request's headers."""

from collections.abc import Callable

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from webapp.tasks.web.representations import Answer, answer_for, answered


def request_with(**headers: str) -> object:
    request = RequestFactory().get("/tasks/", headers=headers)
    HtmxMiddleware(lambda r: None)(request)  # type: ignore[arg-type]
    return request


@pytest.mark.parametrize(
    ("headers", "answer"),
    [
        ({}, Answer.JSON),
        ({"Accept": "*/*"}, Answer.JSON),
        ({"Accept": "application/json"}, Answer.JSON),
        ({"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, Answer.PAGE),
        ({"Accept": "text/html", "HX-Request": "true"}, Answer.FRAGMENT),
        ({"Accept": "*/*", "HX-Request": "true"}, Answer.FRAGMENT),
    ],
)
def test_it_chooses_by_headers(headers: dict[str, str], answer: Answer) -> None:
    assert answer_for(request_with(**headers)) is answer  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "chosen"),
    [
        ({"Accept": "*/*"}, "json"),
        ({"Accept": "text/html", "HX-Request": "true"}, "fragment"),
        ({"Accept": "text/html"}, "page"),
    ],
)
def test_answered_builds_only_the_chosen_form(headers: dict[str, str], chosen: str) -> None:
    built: list[str] = []

    def builder(form: str) -> Callable[[], HttpResponse]:
        def build() -> HttpResponse:
            built.append(form)
            return HttpResponse(form)

        return build

    response = answered(
        request_with(**headers),  # type: ignore[arg-type]
        json=builder("json"),
        fragment=builder("fragment"),
        page=builder("page"),
    )
    assert response.content.decode() == chosen
    assert built == [chosen]
