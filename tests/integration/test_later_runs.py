"""Later runs over HTTP: `countdown` and `eta` hold a task SCHEDULED until its time,
then it runs within a second of it; run now, cancel, and every refused value."""

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conftest import Stack, start_scheduler, wait_for
from tests.integration.conftest import wait_for_status

ON_TIME = timedelta(seconds=1)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def schedule_form(client: httpx.Client, **fields: str) -> httpx.Response:
    """`curl -F type=instant -F countdown=2 .../tasks/`"""
    return client.post("/tasks/", files={"type": (None, "instant")} | {
        name: (None, value) for name, value in fields.items()
    })  # fmt: skip


def schedule_json(client: httpx.Client, **fields: Any) -> httpx.Response:
    return client.post("/tasks/", json={"type": "instant", "params": {}} | fields)


def events(client: httpx.Client, task_id: str) -> list[dict[str, str]]:
    return list(client.get(f"/tasks/{task_id}/").json()["events"])


def test_a_countdown_runs_within_a_second_of_its_time(client: httpx.Client, stack: Stack) -> None:
    stack.wait_until_idle()

    response = schedule_form(client, countdown="2")

    assert response.status_code == 202, response.text
    task = response.json()
    assert task["task_status"] == "SCHEDULED"
    due = moment(task["submitted_at"]) + timedelta(seconds=2)
    assert abs(moment(task["run_at"]) - due) < timedelta(milliseconds=50)
    done = wait_for_status(client, task["task_id"], "SUCCESS", timeout=15)
    started = moment(done["started_at"])
    assert due <= started <= due + ON_TIME, (due, started)
    assert [e["status"] for e in done["events"]] == ["SCHEDULED", "PENDING", "STARTED", "SUCCESS"]
    assert "late" not in done["events"][1]["note"]


def test_an_eta_runs_within_a_second_of_it(client: httpx.Client, stack: Stack) -> None:
    stack.wait_until_idle()
    eta = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)

    response = schedule_json(client, eta=eta.isoformat().replace("+00:00", "Z"))

    assert response.status_code == 202, response.text
    assert moment(response.json()["run_at"]) == eta
    done = wait_for_status(client, response.json()["task_id"], "SUCCESS", timeout=15)
    started = moment(done["started_at"])
    assert eta <= started <= eta + ON_TIME, (eta, started)


def test_a_scheduled_task_is_counted_and_filtered_as_scheduled(client: httpx.Client) -> None:
    task_id = schedule_json(client, countdown=600).json()["task_id"]
    try:
        table = client.get("/tasks/?status=SCHEDULED").json()

        assert task_id in [t["task_id"] for t in table["tasks"]]
        assert {t["task_status"] for t in table["tasks"]} == {"SCHEDULED"}
        assert table["counts"]["SCHEDULED"] >= 1
        page = client.get("/?status=SCHEDULED", headers={"Accept": "text/html"}).text
        assert 'data-status="SCHEDULED"' in page
        assert "runs <time" in page
        assert 'data-relative="in"' in page
    finally:
        client.post(f"/tasks/{task_id}/cancel/")


def test_run_now_publishes_it_ahead_of_its_time(client: httpx.Client) -> None:
    task_id = schedule_json(client, countdown=600).json()["task_id"]

    response = client.post(f"/tasks/{task_id}/run-now/")

    assert response.status_code == 200, response.text
    assert response.json()["task_status"] in ("PENDING", "STARTED", "SUCCESS")
    done = wait_for_status(client, task_id, "SUCCESS")
    assert [e["status"] for e in done["events"]] == ["SCHEDULED", "PENDING", "STARTED", "SUCCESS"]
    assert done["events"][1]["note"].startswith("run now")
    again = client.post(f"/tasks/{task_id}/run-now/")
    assert again.status_code == 409
    assert "only a scheduled task can be run now" in again.json()["error"]


def test_cancel_ends_it_cancelled_with_the_reason_and_it_never_runs(client: httpx.Client) -> None:
    task_id = schedule_json(client, countdown=1).json()["task_id"]

    response = client.post(f"/tasks/{task_id}/cancel/")

    assert response.status_code == 200, response.text
    assert response.json()["task_status"] == "REVOKED"
    # Past its time, still cancelled: the scheduler has nothing to publish.
    wait_for(
        lambda: datetime.now(UTC) > moment(response.json()["run_at"]) + ON_TIME,
        5,
        "its time to pass",
    )
    task = client.get(f"/tasks/{task_id}/").json()
    assert task["task_status"] == "REVOKED"
    assert task["attempts"] == 0
    assert [e["status"] for e in task["events"]] == ["SCHEDULED", "REVOKED"]
    assert task["events"][1]["note"].startswith("cancelled before its time")


def test_a_task_due_while_no_scheduler_ran_is_published_late_on_start(
    client: httpx.Client, stack: Stack
) -> None:
    stack.services["scheduler"].stop()
    try:
        task = schedule_json(client, countdown=0.5).json()
        wait_for(
            lambda: datetime.now(UTC) > moment(task["run_at"]) + 2 * ON_TIME,
            10,
            "its time to pass",
        )
        assert client.get(f"/tasks/{task['task_id']}/").json()["task_status"] == "SCHEDULED"
    finally:
        start_scheduler(stack)

    done = wait_for_status(client, task["task_id"], "SUCCESS")
    note = done["events"][1]["note"]
    assert done["events"][1]["status"] == "PENDING"
    assert "s late (no scheduler was running when it came due)" in note, note


@pytest.mark.parametrize(
    ("fields", "field", "said"),
    [
        ({"countdown": "-1"}, "countdown", "from 0 to 2592000"),
        ({"countdown": "soon"}, "countdown", "a number of seconds"),
        ({"countdown": "nan"}, "countdown", "a number of seconds"),
        ({"countdown": "2592001"}, "countdown", "from 0 to 2592000"),
        ({"eta": "tomorrow"}, "eta", "ISO 8601"),
        ({"eta": "2030-01-01T12:00:00"}, "eta", "has no offset"),
        ({"eta": "2020-01-01T12:00:00Z"}, "eta", "in the past"),
        ({"eta": "2999-01-01T12:00:00+01:00"}, "eta", "more than 30 days ahead"),
        ({"eta": "2030-01-01T12:00:00Z", "countdown": "5"}, "eta", "not both"),
    ],
)
def test_a_bad_time_is_a_400_naming_the_field(
    client: httpx.Client, fields: dict[str, str], field: str, said: str
) -> None:
    before = client.get("/tasks/").json()["counts"]

    response = schedule_form(client, **fields)

    assert response.status_code == 400, response.text
    body = response.json()
    assert f"`{field}`" in body["error"], body
    assert said in body["error"], body
    assert set(body["errors"]) == {field}
    assert client.get("/tasks/").json()["counts"] == before  # nothing kept


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"countdown": "30"}, "countdown"),  # JSON takes numbers as numbers
        ({"countdown": True}, "countdown"),
        ({"countdown": -0.5}, "countdown"),
        ({"eta": 1764095400}, "eta"),
        ({"eta": "2030-01-01T12:00:00", "countdown": None}, "eta"),
    ],
)
def test_a_bad_time_in_json_is_a_400_naming_the_field(
    client: httpx.Client, fields: dict[str, Any], field: str
) -> None:
    response = schedule_json(client, **fields)

    assert response.status_code == 400, response.text
    assert set(response.json()["errors"]) == {field}
    assert f"`{field}`" in response.json()["error"]


def test_a_browser_form_shows_the_error_next_to_the_field(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, headers={"Accept": "text/html"}) as browser:
        token = browser.get("/catalogue/instant/").cookies["csrftoken"]
        response = browser.post(
            "/tasks/",
            headers={"Referer": f"{stack.url}/catalogue/instant/"},
            data={"type": "instant", "countdown": "-3", "csrfmiddlewaretoken": token},
        )

    assert response.status_code == 400
    assert 'id="instant-countdown-error"' in response.text
    assert 'value="-3"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_two_schedulers_publish_each_due_task_once(client: httpx.Client, stack: Stack) -> None:
    second = stack.start("scheduler-2", sys.executable, "manage.py", "publish_due")
    try:
        wait_for(lambda: "scheduler ready" in second.log(), 30, "a second scheduler")
        eta = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
        task_ids = [schedule_json(client, eta=eta).json()["task_id"] for _ in range(8)]

        for task_id in task_ids:
            wait_for_status(client, task_id, "SUCCESS")
    finally:
        second.stop()

    logs = stack.services["scheduler"].log() + second.log()
    for task_id in task_ids:
        statuses = [e["status"] for e in events(client, task_id)]
        assert statuses == ["SCHEDULED", "PENDING", "STARTED", "SUCCESS"], statuses
        assert logs.count(f"published scheduled task {task_id}") == 1


def test_run_again_offers_the_countdown_and_schedules_with_it(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, headers={"Accept": "text/html"}) as browser:
        done = browser.post("/tasks/", data={"type": "instant"}, headers={"Accept": "*/*"})
        task_id = done.json()["task_id"]
        wait_for(
            lambda: (
                browser.get(f"/tasks/{task_id}/?format=json").json()["task_status"] == "SUCCESS"
            ),
            15,
            "the first run to finish",
        )
        page = browser.get(f"/tasks/{task_id}/")
        assert 'id="again-countdown"' in page.text
        token = page.cookies.get("csrftoken") or browser.cookies["csrftoken"]
        again = browser.post(
            "/tasks/",
            headers={"Referer": f"{stack.url}/tasks/{task_id}/", "Accept": "*/*"},
            data={"type": "instant", "countdown": "600", "csrfmiddlewaretoken": token},
        )

    assert again.status_code == 202, again.text
    assert again.json()["task_status"] == "SCHEDULED"
    httpx.post(f"{stack.url}{again.json()['url']}cancel/")
