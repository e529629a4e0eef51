"""Sorting, page size, counts and short ids over HTTP, on SQLite and (--postgres)
PostgreSQL: the status sort pages with a row-value range, which both must accept."""

import httpx
import pytest

from conftest import Stack
from tests.integration.conftest import submit, wait_for_status


def every_page(client: httpx.Client, url: str) -> list[dict[str, object]]:
    tasks: list[dict[str, object]] = []
    next_url: str | None = url
    while next_url:
        answer = client.get(next_url).json()
        tasks += answer["tasks"]
        next_url = answer["older"]
    return tasks


@pytest.mark.parametrize("sort", ["oldest", "status", "-status", "runtime", "-runtime"])
def test_every_sort_pages_through_the_whole_list_once(
    client: httpx.Client, stack: Stack, sort: str
) -> None:
    for kind in (5, 0, 5, 0):
        submit(client, kind)
    stack.wait_until_idle()
    unsorted = every_page(client, "/tasks/?size=10")
    if "runtime" in sort:  # only the tasks that ran and finished have a run time
        unsorted = [t for t in unsorted if t["started_at"] and t["finished_at"]]

    tasks = every_page(client, f"/tasks/?sort={sort}&size=10")

    assert sorted(str(t["task_id"]) for t in tasks) == sorted(str(t["task_id"]) for t in unsorted)
    if "status" in sort:
        statuses = [str(t["task_status"]) for t in tasks]
        assert statuses == sorted(statuses, reverse=sort.startswith("-"))
    if "runtime" in sort:
        times = [float(str(t["run_seconds"])) for t in tasks]
        assert times == sorted(times, reverse=sort.startswith("-"))


def test_the_list_counts_what_matches(client: httpx.Client) -> None:
    failed = submit(client, 5)["task_id"]
    wait_for_status(client, failed, "FAILURE")

    everything = client.get("/tasks/").json()
    failures = client.get("/tasks/?kind=5").json()

    assert everything["matching"] == sum(everything["counts"].values())
    assert failures["matching"] >= 1
    assert failures["matching_exact"] is True


def test_a_short_id_redirects_to_its_task(client: httpx.Client) -> None:
    task = submit(client, 0)

    response = client.get(f"/tasks/{task['task_id'][:8]}/")

    assert response.status_code == 302
    assert response.headers["Location"] == task["url"]
