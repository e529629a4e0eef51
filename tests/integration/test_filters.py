"""Filters, id search and stable paging of the task list."""

import httpx
import pytest

from conftest import PAGE_SIZE, Stack
from tests.integration.conftest import submit, wait_for_status


def ids(response: httpx.Response) -> list[str]:
    return [t["task_id"] for t in response.json()["tasks"]]


def test_status_and_kind_filters(client: httpx.Client) -> None:
    failed = submit(client, 5)["task_id"]
    done = submit(client, 0)["task_id"]
    wait_for_status(client, failed, "FAILURE")
    wait_for_status(client, done, "SUCCESS")

    failures = client.get("/tasks/?status=FAILURE").json()["tasks"]
    instants = client.get("/tasks/?kind=0").json()["tasks"]

    assert failed in [t["task_id"] for t in failures]
    assert {t["task_status"] for t in failures} == {"FAILURE"}
    assert done in [t["task_id"] for t in instants]
    assert {t["kind"] for t in instants} == {0}


def test_search_by_id_prefix_finds_the_task(client: httpx.Client) -> None:
    task_id = submit(client, 0)["task_id"]

    for prefix in (task_id[:4], task_id[:9].upper(), task_id):
        assert task_id in ids(client.get(f"/tasks/?q={prefix}"))
    assert all(i.startswith(task_id[:6]) for i in ids(client.get(f"/tasks/?q={task_id[:6]}")))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=DONE", "status must be one of"),
        ("kind=9", "kind must be one of"),
        ("kind=x", "kind must be one of"),
        ("q=xyz", "hex digits"),
        ("q=" + "a" * 40, "hex digits"),
        ("before=-3", "before must be"),
        ("before=1e9", "before must be"),
    ],
)
def test_bad_filters_are_400(client: httpx.Client, query: str, message: str) -> None:
    response = client.get(f"/tasks/?{query}")

    assert response.status_code == 400
    assert message in response.json()["error"]


def test_older_pages_stay_put_while_new_tasks_arrive(client: httpx.Client, stack: Stack) -> None:
    for _ in range(2 * PAGE_SIZE + 3):
        submit(client, 0)
    stack.wait_until_idle()
    first = client.get("/tasks/").json()
    older_url = first["older"]
    second = client.get(older_url)

    for _ in range(3):
        submit(client, 0)
    second_again = client.get(older_url)

    assert older_url.startswith("/tasks/?before=")
    assert len(ids(second)) == PAGE_SIZE
    assert not set(ids(second)) & {t["task_id"] for t in first["tasks"]}
    assert ids(second_again) == ids(second)
