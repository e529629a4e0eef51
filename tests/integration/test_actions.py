"""Steering over JSON: cancel, retry, delete and clear, and the impossible cases."""

import uuid

import httpx
import pytest

from conftest import Stack, wait_for
from tests.integration.conftest import submit, wait_for_status


def post(client: httpx.Client, path: str) -> httpx.Response:
    return client.post(path)


def test_cancel_pending_and_running_tasks_frees_the_worker(
    client: httpx.Client, stack: Stack
) -> None:
    stack.wait_until_idle()
    running = [submit(client, 3)["task_id"] for _ in range(2)]  # both worker processes
    for task_id in running:
        wait_for_status(client, task_id, "STARTED")
    queued = submit(client, 1)["task_id"]

    cancelled_queued = post(client, f"/tasks/{queued}/cancel/")
    cancelled_running = post(client, f"/tasks/{running[0]}/cancel/")
    # The process that ran the cancelled task is free again: a new task runs to
    # the end while the other long task is still busy.
    quick = submit(client, 0)["task_id"]
    wait_for_status(client, quick, "SUCCESS")
    still_running = client.get(f"/tasks/{running[1]}/").json()
    post(client, f"/tasks/{running[1]}/cancel/")
    stack.wait_until_idle()

    assert cancelled_queued.status_code == 200
    assert cancelled_queued.json()["task_status"] == "REVOKED"
    assert cancelled_running.status_code == 200
    assert cancelled_running.json()["task_status"] == "REVOKED"
    assert still_running["task_status"] == "STARTED"
    never_ran = client.get(f"/tasks/{queued}/").json()
    assert never_ran["task_status"] == "REVOKED"
    assert never_ran["attempts"] == 0
    assert never_ran["started_at"] is None
    stopped = client.get(f"/tasks/{running[0]}/").json()
    assert stopped["task_status"] == "REVOKED"
    assert stopped["progress"] < 100
    assert [e["status"] for e in stopped["events"]] == ["PENDING", "STARTED", "REVOKED"]


def test_cancelling_a_finished_task_is_409(client: httpx.Client) -> None:
    task_id = submit(client, 0)["task_id"]
    wait_for_status(client, task_id, "SUCCESS")

    response = post(client, f"/tasks/{task_id}/cancel/")

    assert response.status_code == 409
    assert "already finished (SUCCESS)" in response.json()["error"]


def test_retrying_a_failed_task_launches_a_linked_one(client: httpx.Client) -> None:
    failed = submit(client, 5)["task_id"]
    wait_for_status(client, failed, "FAILURE")

    response = post(client, f"/tasks/{failed}/retry/")

    assert response.status_code == 202
    retry = response.json()
    assert retry["task_id"] != failed
    assert retry["kind"] == 5
    assert retry["retry_of"] == failed
    assert response.headers["Location"] == f"/tasks/{retry['task_id']}/"
    assert client.get(f"/tasks/{failed}/").json()["retries"] == [retry["task_id"]]
    wait_for_status(client, retry["task_id"], "FAILURE")


@pytest.mark.parametrize("kind", [0, 1])
def test_retrying_a_task_that_did_not_fail_is_409(client: httpx.Client, kind: int) -> None:
    task_id = submit(client, kind)["task_id"]
    if kind == 0:
        wait_for_status(client, task_id, "SUCCESS")

    response = post(client, f"/tasks/{task_id}/retry/")

    assert response.status_code == 409
    assert "Only failed or cancelled tasks can be retried" in response.json()["error"]
    post(client, f"/tasks/{task_id}/cancel/")


def test_deleting_a_finished_task_removes_it(client: httpx.Client) -> None:
    task_id = submit(client, 0)["task_id"]
    wait_for_status(client, task_id, "SUCCESS")

    response = post(client, f"/tasks/{task_id}/delete/")

    assert response.status_code == 200
    assert response.json() == {"deleted": task_id}
    assert client.get(f"/tasks/{task_id}/").status_code == 404


def test_deleting_an_active_task_is_409(client: httpx.Client) -> None:
    task_id = submit(client, 2)["task_id"]

    response = post(client, f"/tasks/{task_id}/delete/")

    assert response.status_code == 409
    assert "cancel it before deleting it" in response.json()["error"]
    post(client, f"/tasks/{task_id}/cancel/")


def test_clearing_finished_tasks_keeps_active_ones(client: httpx.Client, stack: Stack) -> None:
    finished = submit(client, 0)["task_id"]
    wait_for_status(client, finished, "SUCCESS")
    active = submit(client, 2)["task_id"]

    response = post(client, "/tasks/clear/")

    assert response.status_code == 200
    assert response.json()["deleted"] >= 1
    counts = client.get("/tasks/").json()["counts"]
    assert counts["SUCCESS"] == counts["FAILURE"] == counts["REVOKED"] == 0
    assert client.get(f"/tasks/{finished}/").status_code == 404
    assert client.get(f"/tasks/{active}/").status_code == 200
    post(client, f"/tasks/{active}/cancel/")


@pytest.mark.parametrize("action", ["cancel", "retry", "delete"])
def test_actions_on_unknown_tasks_are_404(client: httpx.Client, action: str) -> None:
    response = post(client, f"/tasks/{uuid.uuid4()}/{action}/")

    assert response.status_code == 404
    assert "no task with id" in response.json()["error"]


@pytest.mark.parametrize("path", ["/tasks/clear/", f"/tasks/{uuid.uuid4()}/cancel/"])
def test_actions_answer_get_with_405(client: httpx.Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_a_browser_form_delete_asks_for_confirmation_first(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, headers={"Accept": "text/html"}) as browser:
        page = browser.get("/").text
        token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        task_id = httpx.post(f"{stack.url}/tasks/", data={"type": "0"}).json()["task_id"]
        wait_for(
            lambda: httpx.get(f"{stack.url}/tasks/{task_id}/").json()["task_status"] == "SUCCESS",
            30,
            "the task to finish",
        )
        form = {"csrfmiddlewaretoken": token, "next": "/"}
        headers = {"Origin": stack.url}

        asked = browser.post(f"/tasks/{task_id}/delete/", data=form, headers=headers)
        kept = httpx.get(f"{stack.url}/tasks/{task_id}/").status_code
        confirmed = browser.post(
            f"/tasks/{task_id}/delete/", data=form | {"confirm": "yes"}, headers=headers
        )

    assert asked.status_code == 200
    assert "Are you sure?" in asked.text
    assert kept == 200
    assert confirmed.status_code == 303
    assert httpx.get(f"{stack.url}/tasks/{task_id}/").status_code == 404
