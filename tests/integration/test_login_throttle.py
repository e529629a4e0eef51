"""Failed logins are throttled per account and address, and per address: 429 with
Retry-After and a readable page, and nobody can lock a user out from elsewhere."""

from collections.abc import Iterator

import httpx
import pytest

from conftest import Stack, free_port, start_web

USERS = """
from django.contrib.auth.models import User
for name in ("erin", "frank"):
    User.objects.filter(username=name).delete()
    User.objects.create_user(name, password=f"{name}-secret-pw")
"""


@pytest.fixture(scope="module")
def url(stack: Stack) -> Iterator[str]:
    stack.manage("shell", "-c", USERS)
    port = free_port()
    env = stack.env | {
        "DASHBOARD_REQUIRE_LOGIN": "true",
        # One proxy in front: X-Forwarded-For tells the addresses apart.
        "PROXY_COUNT": "1",
        # Day-long windows: django-ratelimit's windows end at a fixed moment per key, and
        # a 15-minute one ended in the middle of a test once (7 failures, no 429).
        "LOGIN_FAILURES_PER_ACCOUNT": "3/d",
        "LOGIN_FAILURES_PER_ADDRESS": "6/d",
    }
    web = start_web(stack, port, env=env)
    yield f"http://127.0.0.1:{port}"
    web.stop()


def log_in(url: str, address: str, username: str, password: str) -> httpx.Response:
    """A browser at `address` loads the login form and posts it."""
    headers = {"Accept": "text/html", "X-Forwarded-For": address}
    with httpx.Client(base_url=url, headers=headers, timeout=15) as browser:
        form = browser.get("/accounts/login/").text
        token = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        return browser.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Origin": url},
        )


def test_failed_logins_to_one_account_from_one_address_are_throttled(url: str) -> None:
    address = "198.51.100.1"
    failures = [log_in(url, address, "erin", "wrong") for _ in range(3)]

    refused = log_in(url, address, "erin", "wrong")
    right_password = log_in(url, address, "erin", "erin-secret-pw")

    assert [f.status_code for f in failures] == [200, 200, 200]  # the form, with an error
    for response in (refused, right_password):
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
        assert "Too many failed logins" in response.text
        assert "<h1>" in response.text  # a page, not a bare status


def test_a_stranger_cannot_lock_a_user_out_from_another_address(url: str) -> None:
    for _ in range(4):
        log_in(url, "198.51.100.2", "frank", "wrong")

    own = log_in(url, "192.0.2.50", "frank", "frank-secret-pw")

    assert own.status_code == 302  # logged in


def test_failures_from_one_address_across_accounts_are_throttled(url: str) -> None:
    address = "198.51.100.3"
    for name in ("a", "b", "c", "d", "e", "f"):
        assert log_in(url, address, f"guess-{name}", "wrong").status_code == 200

    refused = log_in(url, address, "guess-g", "wrong")

    assert refused.status_code == 429
