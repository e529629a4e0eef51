"""A 204 or 304 carries no document, so it carries no document-only headers."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from webapp.tasks.web.middleware import BodilessResponseMiddleware

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept, HX-Request",
}


def answer(status: int) -> HttpResponse:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=status, headers=SECURITY_HEADERS)

    return BodilessResponseMiddleware(view)(RequestFactory().get("/"))  # type: ignore[return-value]


@pytest.mark.parametrize("status", [204, 304])
def test_it_drops_document_headers_from_bodiless_answers(status: int) -> None:
    response = answer(status)

    assert dict(response.headers) == {"Vary": "Accept, HX-Request"}


@pytest.mark.parametrize("status", [200, 201, 400, 404, 503])
def test_it_keeps_every_header_on_answers_with_a_body(status: int) -> None:
    response = answer(status)

    assert SECURITY_HEADERS.items() <= dict(response.headers).items()
    assert response["Content-Type"]
