"""Integration fixtures: an HTTP client for the running stack, speaking like curl."""

from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import pytest

from conftest import Stack, free_port, start_web, wait_for


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
        response = client.get(f"/tasks/{task_id}/")
        if response.status_code == 404:
            # Not seen yet: a task published elsewhere is recorded when a worker
            # receives it, and a busy worker may not have taken it from Redis yet.
            return None
        task = response.json()
        return task if task["task_status"] == status else None

    return dict(wait_for(reached, timeout, f"task {task_id} to reach {status}"))


USERS = """
from django.contrib.auth.models import User
for name in {names!r}:
    User.objects.filter(username=name).delete()
    user = User.objects.create_user(name, password=f"{{name}}-secret-pw")
    print(user.pk, end=" ")
"""


@contextmanager
def users_with_tokens(
    stack: Stack, names: tuple[str, ...], timeout: float = 15
) -> Iterator[tuple[dict[str, httpx.Client], dict[str, int]]]:
    """Fresh users of a dashboard with login on, each with a token, speaking like curl:
    a client per name, and their ids. The web server is this block's own."""
    ids = stack.manage("shell", "-c", USERS.format(names=names)).split()[-len(names) :]
    tokens = {name: stack.manage("create_token", name).strip() for name in names}
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"DASHBOARD_REQUIRE_LOGIN": "true"})
    clients = {
        name: httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}", "Accept": "*/*"},
            timeout=timeout,
        )
        for name, token in tokens.items()
    }
    try:
        yield clients, dict(zip(names, map(int, ids), strict=True))
    finally:
        for client in clients.values():
            client.close()
        web.stop()
