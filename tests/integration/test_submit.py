"""Submitting a task over HTTP and watching a real worker run it."""

import uuid

import httpx

from conftest import wait_for
from tests.integration.conftest import submit, wait_for_status


def test_seed_curl_submit_answers_202_with_a_task_id(client: httpx.Client) -> None:
    response = client.post("/tasks/", files={"type": (None, "0")})

    assert response.status_code == 202
    body = response.json()
    uuid.UUID(body["task_id"])
    assert body["task_status"] == "PENDING"
    assert response.headers["Location"] == f"/tasks/{body['task_id']}/"


def test_task_moves_from_pending_through_started_to_success(
    client: httpx.Client,
) -> None:
    task_id = submit(client, 1)["task_id"]
    seen_statuses: list[str] = []
    seen_progress: list[int] = []

    def finished() -> bool:
        task = client.get(f"/tasks/{task_id}/").json()
        if not seen_statuses or seen_statuses[-1] != task["task_status"]:
            seen_statuses.append(task["task_status"])
        if task["task_status"] == "STARTED":
            seen_progress.append(task["progress"])
        return bool(task["task_status"] == "SUCCESS")

    wait_for(finished, 30, "the short task to succeed", interval=0.02)

    assert seen_statuses[0] in ("PENDING", "STARTED")
    assert "STARTED" in seen_statuses
    assert seen_statuses[-1] == "SUCCESS"
    assert any(0 < p < 100 for p in seen_progress), seen_progress
    assert seen_progress == sorted(seen_progress), "progress never goes back"
    task = client.get(f"/tasks/{task_id}/").json()
    assert task["progress"] == 100
    assert task["task_result"] == {"slept_seconds": 4.0, "steps": 20}
    assert task["started_at"]
    assert task["finished_at"]
    assert task["worker"].startswith("worker@")


def test_finished_task_shows_in_json_list_and_fragment(client: httpx.Client) -> None:
    task_id = submit(client, 0)["task_id"]
    wait_for_status(client, task_id, "SUCCESS")

    listed = client.get("/tasks/").json()["tasks"]
    fragment = client.get("/tasks/", headers={"HX-Request": "true"}).text

    assert listed[0]["task_id"] == task_id
    assert listed[0]["task_status"] == "SUCCESS"
    assert f'id="task-{task_id}"' in fragment
    row = fragment.split(f'id="task-{task_id}"', 1)[1].split("</tr>", 1)[0]
    assert "SUCCESS" in row


def test_json_body_submits_too(client: httpx.Client) -> None:
    response = client.post("/tasks/", json={"type": 0})

    assert response.status_code == 202
    wait_for_status(client, response.json()["task_id"], "SUCCESS")


def test_urlencoded_body_submits_too(client: httpx.Client) -> None:
    response = client.post("/tasks/", data={"type": "0"})

    assert response.status_code == 202


def test_browser_gets_a_readable_detail_page(client: httpx.Client) -> None:
    task_id = submit(client, 0)["task_id"]
    wait_for_status(client, task_id, "SUCCESS")

    response = client.get(f"/tasks/{task_id}/", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert task_id in response.text
    assert "SUCCESS" in response.text
    assert "<!doctype html>" in response.text.lower()
