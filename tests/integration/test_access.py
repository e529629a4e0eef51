"""With DASHBOARD_REQUIRE_LOGIN, only logged-in users and token holders get in, and
users who are not staff see and steer only their own tasks."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from conftest import Stack, free_port, start_web

USERS = """
from django.contrib.auth.models import User
for name, staff in [("alice", False), ("bob", False), ("carol", True)]:
    User.objects.filter(username=name).delete()
    User.objects.create_user(name, password=f"{name}-secret-pw", is_staff=staff)
"""


@dataclass
class Secured:
    url: str
    tokens: dict[str, str]

    def as_user(self, name: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[name]}", "Accept": "*/*"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=15)


@pytest.fixture(scope="module")
def secured(stack: Stack) -> Iterator[Secured]:
    stack.manage("shell", "-c", USERS)
    tokens = {
        name: stack.manage("create_token", name).strip() for name in ("alice", "bob", "carol")
    }
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"DASHBOARD_REQUIRE_LOGIN": "true"})
    yield Secured(f"http://127.0.0.1:{port}", tokens)
    web.stop()


def test_anonymous_json_client_gets_401_and_nothing_else(secured: Secured) -> None:
    listing = httpx.get(f"{secured.url}/tasks/")
    submit = httpx.post(f"{secured.url}/tasks/", data={"type": "0"})

    for response in (listing, submit):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert list(response.json()) == ["error"]
        assert "task_id" not in response.text


def test_anonymous_browser_is_sent_to_the_login_page(secured: Secured) -> None:
    response = httpx.get(f"{secured.url}/", headers={"Accept": "text/html"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/"


def test_a_wrong_token_is_401(secured: Secured) -> None:
    response = httpx.get(f"{secured.url}/tasks/", headers={"Authorization": "Bearer tdb_nope"})

    assert response.status_code == 401
    assert response.json() == {"error": "That token is not valid."}


def test_health_check_stays_open(secured: Secured) -> None:
    assert httpx.get(f"{secured.url}/healthz").status_code == 200


def test_users_see_and_steer_only_their_own_tasks(secured: Secured) -> None:
    with secured.as_user("alice") as alice, secured.as_user("bob") as bob:
        mine = alice.post("/tasks/", data={"type": "3"}).json()["task_id"]

        bobs_list = [t["task_id"] for t in bob.get("/tasks/").json()["tasks"]]
        bob_reads = bob.get(f"/tasks/{mine}/")
        bob_cancels = bob.post(f"/tasks/{mine}/cancel/")
        alices_list = [t["task_id"] for t in alice.get("/tasks/").json()["tasks"]]
        alice_cancels = alice.post(f"/tasks/{mine}/cancel/")

    assert mine not in bobs_list
    assert bob_reads.status_code == 404
    assert bob_cancels.status_code == 404
    assert "no task with id" in bob_cancels.json()["error"]
    assert mine in alices_list
    assert alice_cancels.status_code == 200


def test_staff_see_everyones_tasks(secured: Secured) -> None:
    with secured.as_user("alice") as alice, secured.as_user("carol") as carol:
        alices = alice.post("/tasks/", data={"type": "0"}).json()["task_id"]

        seen_by_staff = carol.get(f"/tasks/{alices}/")

    assert seen_by_staff.status_code == 200


def test_counts_are_per_user_for_users_who_are_not_staff(secured: Secured) -> None:
    with secured.as_user("bob") as bob, secured.as_user("carol") as carol:
        bob.post("/tasks/", data={"type": "0"})

        bobs = bob.get("/tasks/").json()["counts"]
        everyones = carol.get("/tasks/").json()["counts"]

    assert sum(bobs.values()) < sum(everyones.values())


def test_browser_login_opens_the_dashboard(secured: Secured) -> None:
    with httpx.Client(base_url=secured.url, headers={"Accept": "text/html"}) as browser:
        form = browser.get("/accounts/login/?next=/").text
        token = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        logged_in = browser.post(
            "/accounts/login/",
            data={
                "username": "alice",
                "password": "alice-secret-pw",
                "next": "/",
                "csrfmiddlewaretoken": token,
            },
            headers={"Origin": secured.url},
        )
        dashboard = browser.get("/")

    assert logged_in.status_code == 302
    assert dashboard.status_code == 200
    assert "Log out alice" in dashboard.text


def test_tokens_are_stored_hashed(stack: Stack, secured: Secured) -> None:
    stored = [row[0] for row in stack.fetch("SELECT digest FROM tasks_apitoken")]

    assert secured.tokens["alice"] not in stored
    assert all(len(digest) == 64 for digest in stored)
