"""The health check answers whatever ALLOWED_HOSTS says: container and load-balancer
probes ask by address (`Host: 127.0.0.1`), not by the public name."""

import secrets
from collections.abc import Iterator

import httpx
import pytest

from conftest import Stack, free_port, start_web


@pytest.fixture(scope="module")
def public_only_url(stack: Stack) -> Iterator[str]:
    port = free_port()
    env = stack.env | {
        "ALLOWED_HOSTS": "tasks.example.com",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DASHBOARD_REQUIRE_LOGIN": "true",
    }
    # start_web waits for /healthz asked as 127.0.0.1:<port>, as the image's probe does.
    web = start_web(stack, port, env=env)
    yield f"http://127.0.0.1:{port}"
    web.stop()


def test_health_check_answers_a_loopback_host_that_allowed_hosts_does_not_name(
    public_only_url: str,
) -> None:
    response = httpx.get(f"{public_only_url}/healthz", headers={"Host": "127.0.0.1"})

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_other_urls_still_refuse_a_host_that_allowed_hosts_does_not_name(
    public_only_url: str,
) -> None:
    response = httpx.get(f"{public_only_url}/tasks/", headers={"Host": "127.0.0.1"})

    assert response.status_code == 400
