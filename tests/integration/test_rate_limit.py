"""Submissions are limited per client: 429 with Retry-After, and nothing recorded."""

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
