"""Submissions are limited per client: 429 with Retry-After, and nothing recorded."""

import uuid
from collections.abc import Iterator

import httpx
import pytest

from conftest import Stack, free_port, start_web


@pytest.fixture(scope="module")
def limited_url(stack: Stack) -> Iterator[str]:
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"SUBMIT_RATE_LIMIT": "3/h"})
    yield f"http://127.0.0.1:{port}"
    web.stop()


def test_the_fourth_submission_in_the_window_is_429(limited_url: str) -> None:
    answers = [httpx.post(f"{limited_url}/tasks/", data={"type": "0"}) for _ in range(4)]

    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many tasks launched" in refused.json()["error"]


@pytest.fixture(scope="module")
def retry_limited_url(stack: Stack) -> Iterator[str]:
    # A rate of its own is a bucket of its own (django-ratelimit keys by the rate):
    # the submissions above do not count here.
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"SUBMIT_RATE_LIMIT": "2/d"})
    yield f"http://127.0.0.1:{port}"
    web.stop()


def test_a_bulk_retry_counts_as_a_submission(retry_limited_url: str) -> None:
    # Ids of no task: the job still starts (and skips them), and the point is whether
    # it may start at all.
    def bulk(action: str) -> httpx.Response:
        body = {"action": action, "ids": [str(uuid.uuid4())]}
        return httpx.post(f"{retry_limited_url}/tasks/bulk/", json=body)

    answers = [bulk("retry") for _ in range(3)]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert "Too many tasks launched" in answers[-1].json()["error"]
    # Cancelling launches nothing: not limited.
    assert bulk("cancel").status_code == 202
