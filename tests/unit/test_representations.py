"""One helper picks fragment, page or JSON from the request's headers."""

import pytest
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from webapp.tasks.representations import Answer, answer_for


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
