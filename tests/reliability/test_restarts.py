"""Restarting a worker or the web server loses nothing and runs nothing twice."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import Stack, start_worker, wait_for
from tests.integration.conftest import submit
from tests.reliability.conftest import (
    curl_like,
    private_stack,
    start_private_web,
    task_rows,
    timeline,
    web_service,
)


@pytest.fixture(scope="module")
def faults(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A short task runs 1 s.
    with private_stack(migrated, tmp_path_factory.mktemp("restarts"), TASK_TIME_SCALE="0.1") as s:
        start_worker(s)
        start_private_web(s)
        yield s


@pytest.fixture
def client(faults: Stack) -> Iterator[httpx.Client]:
    with curl_like(faults.url) as c:
        yield c


def statuses(faults: Stack, task_ids: list[str]) -> list[str]:
    wanted = {task_id.replace("-", "") for task_id in task_ids}
    return [str(row["status"]) for row in task_rows(faults) if row["task_id"] in wanted]


def test_a_worker_restarted_while_tasks_are_queued_runs_each_of_them_once(
    faults: Stack, client: httpx.Client
) -> None:
    faults.wait_until_idle()
    task_ids = [submit(client, 1)["task_id"] for _ in range(8)]
    wait_for(lambda: statuses(faults, task_ids).count("STARTED") == 2, 30, "two tasks running")
    worker = faults.services["worker"]

    # A warm shutdown, as a supervisor asks for one: SIGTERM to the main process,
    # which finishes the running tasks and leaves the queued ones in Redis.
    os.kill(worker.process.pid, signal.SIGTERM)
    queued_at_shutdown = statuses(faults, task_ids).count("PENDING")
    worker.process.wait(timeout=60)
    worker.stop()
    start_worker(faults)
    faults.wait_until_idle(timeout=60)

    rows = [
        row for row in task_rows(faults) if row["task_id"] in {t.replace("-", "") for t in task_ids}
    ]
    assert queued_at_shutdown > 0
    assert [row["status"] for row in rows] == ["SUCCESS"] * 8
    assert [row["attempts"] for row in rows] == [1] * 8
    for task_id in task_ids:
        assert timeline(faults, task_id) == ["PENDING", "STARTED", "SUCCESS"]
    # Both runs of the worker did some of the work.
    assert len({row["worker_instance"] for row in rows}) == 2


def test_history_is_intact_after_the_web_server_restarts(
    faults: Stack, client: httpx.Client
) -> None:
    submit(client, 0)
    faults.wait_until_idle()
    listed = client.get("/tasks/").json()
    details = {t["task_id"]: client.get(t["url"]).json() for t in listed["tasks"]}

    web_service(faults).stop()
    start_private_web(faults)

    assert client.get("/tasks/").json() == listed
    assert {task_id: client.get(f"/tasks/{task_id}/").json() for task_id in details} == details
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert all(f'id="task-{task_id}"' in page.text for task_id in details)
