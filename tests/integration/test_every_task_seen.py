"""Tasks published outside the dashboard show up in the table with their name and
arguments, and their state follows the worker's: a `celery call` from a shell, a
`.delay()` from the app's own code, a failing one. Staff only, when login is on."""

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import BIN, ROOT, Stack, free_port, start_web
from tests.integration.conftest import wait_for_status


def celery_call(stack: Stack, name: str, args: str) -> str:
    """`celery -A webapp call NAME --args ARGS` from a shell with the stack's broker
    URL in its environment; returns the task id it prints."""
    shell = f"{BIN / 'celery'} -A webapp call {name} --args '{args}'"
    done = subprocess.run(
        ["sh", "-c", shell], cwd=ROOT, env=stack.env, capture_output=True, text=True, check=True
    )
    task_id = done.stdout.strip().splitlines()[-1]
    uuid.UUID(task_id)
    return task_id


def delay_from_code(stack: Stack, call: str) -> str:
    code = f"from webapp.tasks.catalogue import demo; print(demo.{call}.id)"
    return stack.manage("shell", "-c", code).strip().splitlines()[-1]


def listed(client: httpx.Client, task_id: str) -> dict[str, Any]:
    rows = {t["task_id"]: t for t in client.get("/tasks/").json()["tasks"]}
    return dict(rows[task_id])


def test_a_task_sent_with_celery_call_from_a_shell_is_listed_and_reaches_success(
    stack: Stack, client: httpx.Client
) -> None:
    task_id = celery_call(stack, "demo.add", "[2, 3]")

    task = wait_for_status(client, task_id, "SUCCESS")

    assert (task["name"], task["args"], task["kwargs"]) == ("demo.add", [2, 3], {})
    assert task["kind"] is None
    assert task["task_result"] == 5
    assert task["worker"]
    assert [e["status"] for e in task["events"]] == ["PENDING", "STARTED", "SUCCESS"]
    # No process of ours published it: the worker recorded it as it received it.
    assert task["events"][0]["note"].endswith(f"received by {task['worker']}")
    assert listed(client, task_id)["name"] == "demo.add"


def test_a_delay_from_the_apps_own_code_is_listed_and_reaches_success(
    stack: Stack, client: httpx.Client
) -> None:
    task_id = delay_from_code(stack, "add.delay(x=4, y=5)")

    task = wait_for_status(client, task_id, "SUCCESS")

    assert (task["name"], task["args"], task["kwargs"]) == ("demo.add", [], {"x": 4, "y": 5})
    assert task["task_result"] == 9
    # Recorded where it was published, before any worker saw it.
    assert task["events"][0]["note"] == "published outside the dashboard"


def test_a_failing_foreign_task_shows_its_error_and_traceback(
    stack: Stack, client: httpx.Client
) -> None:
    task_id = celery_call(stack, "demo.fail", '["the disk is full"]')

    task = wait_for_status(client, task_id, "FAILURE")

    assert task["error"] == "ValueError: the disk is full"
    assert "Traceback (most recent call last)" in task["traceback"]
    assert task["finished_at"]


def test_our_own_task_is_listed_once(stack: Stack, client: httpx.Client) -> None:
    task_id = client.post("/tasks/", files={"type": (None, "0")}).json()["task_id"]

    wait_for_status(client, task_id, "SUCCESS")

    found = client.get(f"/tasks/?q={task_id}").json()["tasks"]
    assert [t["task_id"] for t in found] == [task_id]
    assert listed(client, task_id)["name"] == "tasks.run"


USERS = """
from django.contrib.auth.models import User
for name, staff in [("dana", False), ("erin", True)]:
    User.objects.filter(username=name).delete()
    User.objects.create_user(name, password=f"{name}-secret-pw", is_staff=staff)
"""


@pytest.fixture(scope="module")
def login_on(stack: Stack) -> Iterator[tuple[str, dict[str, str]]]:
    stack.manage("shell", "-c", USERS)
    tokens = {name: stack.manage("create_token", name).strip() for name in ("dana", "erin")}
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"DASHBOARD_REQUIRE_LOGIN": "true"})
    yield f"http://127.0.0.1:{port}", tokens
    web.stop()


def test_with_login_on_only_staff_see_foreign_tasks(
    stack: Stack, client: httpx.Client, login_on: tuple[str, dict[str, str]]
) -> None:
    url, tokens = login_on
    task_id = celery_call(stack, "demo.add", "[10, 20]")
    wait_for_status(client, task_id, "SUCCESS")

    def as_user(name: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {tokens[name]}", "Accept": "*/*"}
        return httpx.Client(base_url=url, headers=headers, timeout=15)

    with as_user("dana") as dana, as_user("erin") as erin:
        assert task_id in {t["task_id"] for t in erin.get("/tasks/").json()["tasks"]}
        assert erin.get(f"/tasks/{task_id}/").json()["name"] == "demo.add"
        assert task_id not in {t["task_id"] for t in dana.get("/tasks/").json()["tasks"]}
        assert dana.get(f"/tasks/{task_id}/").status_code == 404
