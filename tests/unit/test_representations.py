"""One helper picks fragment, page or JSON from the request's headers."""

from collections.abc import Callable

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from webapp.tasks.web.representations import Answer, BadInput, answer_for, answered, list_answer


def request_with(query: str = "", method: str = "get", **headers: str) -> object:
    request = getattr(RequestFactory(), method)(f"/tasks/{query}", headers=headers)
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


@pytest.mark.parametrize(
    ("query", "headers", "answer"),
    [
        ("?format=csv", {}, Answer.CSV),
        ("?format=jsonl", {"Accept": "text/html"}, Answer.JSONL),
        ("?format=json", {"Accept": "text/csv"}, Answer.JSON),
        ("", {"Accept": "text/csv"}, Answer.CSV),
        ("", {"Accept": "application/jsonl"}, Answer.JSONL),
        ("", {"Accept": "application/x-ndjson"}, Answer.JSONL),
        ("", {"Accept": "text/csv;q=0.5, application/json"}, Answer.JSON),
        ("", {"Accept": "*/*"}, Answer.JSON),
        ("", {"Accept": "text/html,*/*;q=0.8"}, Answer.PAGE),
        ("?format=csv", {"HX-Request": "true"}, Answer.FRAGMENT),
        ("?format=", {"Accept": "text/csv"}, Answer.CSV),
    ],
)
def test_the_task_list_also_answers_as_a_file(
    query: str, headers: dict[str, str], answer: Answer
) -> None:
    assert list_answer(request_with(query, **headers)) is answer  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "headers"),
    [("?format=csv", {}), ("", {"Accept": "text/csv"}), ("?format=jsonl", {})],
)
def test_other_answers_are_never_files(query: str, headers: dict[str, str]) -> None:
    # Only a read of the list streams: an action's table (a POST) and other URLs don't.
    assert answer_for(request_with(query, **headers)) is Answer.JSON  # type: ignore[arg-type]
    posted = request_with(query, method="post", **headers)
    assert list_answer(posted) is Answer.JSON  # type: ignore[arg-type]


def test_a_format_the_list_cannot_give_is_refused_naming_those_it_can() -> None:
    with pytest.raises(BadInput) as refused:
        list_answer(request_with("?format=xlsx"))  # type: ignore[arg-type]

    assert refused.value.status == 400
    assert refused.value.message.startswith("format must be one of json, csv, jsonl")
    assert answer_for(request_with("?format=xlsx")) is Answer.JSON  # type: ignore[arg-type]
