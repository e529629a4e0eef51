"""Submissions are limited per client: 429 with Retry-After, and nothing recorded."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from conftest import Stack, free_port, start_web


@contextmanager
def web_limited_to(stack: Stack, rate: str) -> Iterator[str]:
    """A web process of its own with this rate. Day-long windows: django-ratelimit
    ends a window at a fixed moment, which must not fall inside a test; and a rate of
    its own is a bucket of its own (the key holds the rate)."""
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"SUBMIT_RATE_LIMIT": rate})
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.stop()


@pytest.fixture(scope="module")
def limited_url(stack: Stack) -> Iterator[str]:
    with web_limited_to(stack, "3/d") as url:
        yield url


def test_the_fourth_submission_in_the_window_is_429(limited_url: str) -> None:
    answers = [httpx.post(f"{limited_url}/tasks/", data={"type": "0"}) for _ in range(4)]

    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many tasks launched" in refused.json()["error"]


def test_a_bulk_retry_counts_as_a_submission(stack: Stack) -> None:
    # Ids of no task: the job still starts (and skips them), and the point is whether
    # it may start at all.
    def bulk(action: str) -> httpx.Response:
        body = {"action": action, "ids": [str(uuid.uuid4())]}
        return httpx.post(f"{url}/tasks/bulk/", json=body)

    with web_limited_to(stack, "2/d") as url:
        answers = [bulk("retry") for _ in range(3)]
        cancelled = bulk("cancel")

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert "Too many tasks launched" in answers[-1].json()["error"]
    assert cancelled.status_code == 202  # cancelling launches nothing: not limited
