"""Bearer tokens: viewer ones, expiry, revocation, never the admin, and
`last_used_at` written at most once a minute."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from conftest import Stack, free_port, start_web

USERS = """
from django.contrib.auth.models import User
for name, staff in [("dora", False), ("olga", True)]:
    User.objects.filter(username=name).delete()
    User.objects.create_user(name, password=f"{name}-secret-pw", is_staff=staff, is_superuser=staff)
"""


@dataclass
class Server:
    url: str
    stack: Stack

    def token(self, user: str, *options: str) -> str:
        return self.stack.manage("create_token", user, *options).strip()

    def client(self, token: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=15)


@pytest.fixture(scope="module")
def server(stack: Stack) -> Iterator[Server]:
    stack.manage("shell", "-c", USERS)
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"DASHBOARD_REQUIRE_LOGIN": "true"})
    yield Server(f"http://127.0.0.1:{port}", stack)
    web.stop()


def test_a_viewer_token_lists_and_reads_but_cannot_launch_or_steer(server: Server) -> None:
    with server.client(server.token("dora")) as full:
        task_id = full.post("/tasks/", data={"type": "0"}).json()["task_id"]
    with server.client(server.token("dora", "--role", "viewer")) as reader:
        listed = reader.get("/tasks/")
        read = reader.get(f"/tasks/{task_id}/")
        posts = [
            reader.post("/tasks/", data={"type": "0"}),
            reader.post(f"/tasks/{task_id}/cancel/"),
            reader.post(f"/tasks/{task_id}/retry/"),
            reader.post(f"/tasks/{task_id}/delete/"),
            reader.post("/tasks/clear/"),
        ]

    assert listed.status_code == 200
    assert task_id in {t["task_id"] for t in listed.json()["tasks"]}
    assert read.status_code == 200
    for refused in posts:
        assert refused.status_code == 403
        assert "Forbidden: needs permission tasks." in refused.json()["error"]
        assert refused.json()["error"].endswith("this token's role is viewer.")


def test_a_revoked_token_is_refused(server: Server) -> None:
    token = server.token("dora", "--name", "to-revoke")
    with server.client(token) as client:
        before = client.get("/tasks/")
        server.stack.manage("revoke_token", "--user", "dora", "--name", "to-revoke")
        after = client.get("/tasks/")

    assert before.status_code == 200
    assert after.status_code == 401
    assert "revoked" in after.json()["error"]


def test_a_token_can_be_revoked_by_its_prefix(server: Server) -> None:
    token = server.token("dora")

    printed = server.stack.manage("revoke_token", token[:12])

    assert "Revoked 1 token" in printed
    with server.client(token) as client:
        assert client.get("/tasks/").status_code == 401


def test_an_expired_token_is_refused(server: Server) -> None:
    token = server.token("dora", "--expires-in", "1", "--name", "expiring")
    server.stack.manage(
        "shell",
        "-c",
        "from datetime import timedelta; from django.utils import timezone; "
        "from webapp.tasks.models import ApiToken; "
        "ApiToken.objects.filter(name='expiring')"
        ".update(expires_at=timezone.now() - timedelta(seconds=1))",
    )

    with server.client(token) as client:
        response = client.get("/tasks/")

    assert response.status_code == 401
    assert "expired" in response.json()["error"]


def test_a_staff_token_does_not_open_the_admin(server: Server) -> None:
    with server.client(server.token("olga")) as staff:
        tasks = staff.get("/tasks/")
        admin = staff.get("/admin/", headers={"Accept": "text/html"})
        admin_list = staff.get("/admin/tasks/taskrecord/")

    assert tasks.status_code == 200
    assert admin.status_code == 403
    assert "browser login" in admin.text
    assert admin_list.status_code == 403


def test_last_used_at_is_written_at_most_once_a_minute(server: Server) -> None:
    token = server.token("dora", "--name", "busy")
    query = "SELECT last_used_at FROM tasks_apitoken WHERE name = 'busy'"

    with server.client(token) as client:
        client.get("/tasks/")
        first = server.stack.fetch(query)[0][0]
        for _ in range(5):
            client.get("/tasks/")
        later = server.stack.fetch(query)[0][0]

    assert first is not None
    assert later == first
