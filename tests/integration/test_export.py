"""The CSV export over HTTP with the real stack (README "Add your own task"): launched
with a filter like any entry, it runs on a worker, and its file is downloaded by its
owner and by nobody else who cannot see the task."""

import csv
import io
from collections.abc import Iterator

import httpx
import pytest

from conftest import Stack
from tests.integration.conftest import users_with_tokens, wait_for_status


@pytest.fixture(scope="module")
def users(stack: Stack) -> Iterator[dict[str, httpx.Client]]:
    """Two users of a dashboard with login on, each with a token, speaking like curl."""
    with users_with_tokens(stack, ("erin", "frank")) as (clients, _ids):
        yield clients


def launch(client: httpx.Client, **fields: str) -> str:
    """`curl -F type=... -F name=value ...`, returning the task id."""
    response = client.post("/tasks/", files={k: (None, v) for k, v in fields.items()})
    assert response.status_code == 202, response.text
    return str(response.json()["task_id"])


def test_an_export_lists_its_owners_filtered_tasks_for_her_alone(
    users: dict[str, httpx.Client],
) -> None:
    erin, frank = users["erin"], users["frank"]
    hers = [launch(erin, type="instant") for _ in range(3)]
    launch(erin, type="failing", at_step="0")  # another kind: filtered out
    theirs = launch(frank, type="instant")  # someone else's: never in her file
    for task_id in [*hers, theirs]:
        wait_for_status(erin if task_id in hers else frank, task_id, "SUCCESS")

    export_id = launch(erin, type="export", kind="instant", status="SUCCESS")
    done = wait_for_status(erin, export_id, "SUCCESS")

    download = erin.get(f"/tasks/{export_id}/download/")
    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"] == "text/csv"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [row["id"] for row in rows] == hers
    assert {(row["kind"], row["status"]) for row in rows} == {("instant", "SUCCESS")}
    assert done["progress"] == 100
    assert done["task_result"] == {
        "rows": 3,
        "bytes": len(download.content),
        "file": f"{export_id}.csv",
    }

    refused = frank.get(f"/tasks/{export_id}/download/")
    assert refused.status_code == 404
    assert refused.json() == {"error": f"There is no task with id '{export_id}'."}


def test_a_task_that_is_not_an_export_has_nothing_to_download(
    users: dict[str, httpx.Client],
) -> None:
    task_id = launch(users["erin"], type="instant")
    wait_for_status(users["erin"], task_id, "SUCCESS")

    response = users["erin"].get(f"/tasks/{task_id}/download/")

    assert response.status_code == 404
    assert "not a CSV export" in response.json()["error"]
