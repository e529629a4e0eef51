"""Integration fixtures: an HTTP client for the running stack, speaking like curl."""

from collections.abc import Iterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import pytest

from conftest import Stack, wait_for


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    # curl sends `Accept: */*` and keeps no cookies; neither does this client.
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    with httpx.Client(
        base_url=stack.url, timeout=15, headers={"Accept": "*/*"}, cookies=no_cookies
    ) as c:
        yield c


def submit(client: httpx.Client, kind: int) -> dict[str, Any]:
    """`curl -F type=<kind> .../tasks/`, returning the JSON answer."""
    response = client.post("/tasks/", files={"type": (None, str(kind))})
    assert response.status_code == 202, response.text
    return dict(response.json())


def wait_for_status(
    client: httpx.Client, task_id: str, status: str, timeout: float = 30
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        task = client.get(f"/tasks/{task_id}/").json()
        return task if task["task_status"] == status else None

    return dict(wait_for(reached, timeout, f"task {task_id} to reach {status}"))
