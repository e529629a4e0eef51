"""A worker killed with SIGKILL in the middle of a task never leaves it STARTED.

The policy (README, "Reliability"): when only the pool process running the task
dies, Celery gives the message back (acks late + reject on worker lost) and the task
runs again to SUCCESS; when the whole worker dies, a live worker takes the task back:
a kind safe to repeat runs again at once, as a second attempt, and one that is not
ends FAILURE with the reason. The copy of the message Redis redelivers later is
skipped either way: no attempt starts twice.
"""

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Service, Stack, start_worker, wait_for
from tests.integration.conftest import submit, wait_for_status
from tests.integration.test_bulk import queue_directly
from tests.reliability.conftest import (
    curl_like,
    notes,
    private_stack,
    start_private_web,
    timeline,
    wait_for_log,
)

# A short task runs 5 s: time to kill it halfway. A message held by a dead worker
# comes back after 30 s, well after a live worker has taken the task back (~12 s);
# the visibility timeout must exceed the time limit.
SETTINGS = {
    "TASK_TIME_SCALE": "0.5",
    "TASK_TIME_LIMIT": "20",
    "BROKER_VISIBILITY_TIMEOUT": "30",
}


@pytest.fixture(scope="module")
def faults(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with private_stack(migrated, tmp_path_factory.mktemp("killed"), **SETTINGS) as stack:
        # One pool process, so the process running the task is the only child.
        start_worker(stack, "victim", concurrency=1)
        start_private_web(stack)
        yield stack


@pytest.fixture
def client(faults: Stack) -> Iterator[httpx.Client]:
    with curl_like(faults.url) as c:
        yield c


def pool_processes(worker: Service) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(worker.process.pid)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def running_halfway(client: httpx.Client, task_id: str) -> bool:
    task = client.get(f"/tasks/{task_id}/").json()
    return bool(task["task_status"] == "STARTED" and task["progress"] >= 20)


def test_a_killed_pool_process_gives_the_task_back_and_it_runs_again(
    faults: Stack, client: httpx.Client
) -> None:
    worker = faults.services["victim"]
    task_id = submit(client, 1)["task_id"]
    wait_for(lambda: running_halfway(client, task_id), 30, "the task to be halfway")
    [pool_process] = pool_processes(worker)

    os.kill(pool_process, signal.SIGKILL)

    task = wait_for_status(client, task_id, "SUCCESS", timeout=60)
    assert task["attempts"] == 2
    assert timeline(faults, task_id) == ["PENDING", "STARTED", "PENDING", "STARTED", "SUCCESS"]
    assert task["task_result"] == {"slept_seconds": 5.0, "steps": 20}
    assert worker.process.poll() is None, "the worker itself carried on"
    assert "WorkerLostError" in worker.log()


def kill_and_replace(faults: Stack, worker: Service) -> tuple[Service, int]:
    """The whole worker, main process and pool, dies at once; a new one starts
    under the same hostname (as after a crash and a supervisor's restart)."""
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    worker.stop()
    successor = start_worker(faults, "victim", concurrency=1)
    return successor, len(successor.log())


def test_a_task_of_a_killed_worker_runs_again_on_its_successor(
    faults: Stack, client: httpx.Client
) -> None:
    task_id = submit(client, 1)["task_id"]
    wait_for(lambda: running_halfway(client, task_id), 30, "the task to be halfway")

    successor, log_offset = kill_and_replace(faults, faults.services["victim"])

    task = wait_for_status(client, task_id, "SUCCESS", timeout=60)
    assert task["attempts"] == 2
    assert task["task_result"] == {"slept_seconds": 5.0, "steps": 20}
    assert timeline(faults, task_id) == ["PENDING", "STARTED", "PENDING", "STARTED", "SUCCESS"]
    assert "was lost while running this task; will run again" in notes(faults, task_id)[2]
    # Redis hands the dead worker's message out again after the visibility
    # timeout; the successor receives it and skips it.
    wait_for_log(successor.log, f"skipping task {task_id}", timeout=90, after=log_offset)
    assert client.get(f"/tasks/{task_id}/").json()["attempts"] == 2
    assert timeline(faults, task_id)[-1] == "SUCCESS"


def test_a_task_not_safe_to_repeat_of_a_killed_worker_fails_and_never_reruns(
    faults: Stack, client: httpx.Client
) -> None:
    task_id = submit(client, 7)["task_id"]
    wait_for(lambda: running_halfway(client, task_id), 30, "the task to be halfway")

    successor, log_offset = kill_and_replace(faults, faults.services["victim"])

    task = wait_for_status(client, task_id, "FAILURE", timeout=60)
    assert task["error"].startswith("Worker victim@")
    assert "was lost while running this task; it was not run again" in task["error"]
    assert "not safe to repeat" in task["error"]
    assert task["attempts"] == 1
    wait_for_log(successor.log, f"skipping task {task_id}", timeout=90, after=log_offset)
    task = client.get(f"/tasks/{task_id}/").json()
    assert task["task_status"] == "FAILURE"
    assert task["attempts"] == 1
    assert task["task_result"] is None
    assert timeline(faults, task_id) == ["PENDING", "STARTED", "FAILURE"]


QUEUED = 10_000


def test_a_bulk_job_whose_pool_process_dies_goes_on_from_where_it_was(
    faults: Stack, client: httpx.Client
) -> None:
    queue_directly(faults, None, QUEUED)
    answer = client.post(
        "/tasks/bulk/", json={"action": "cancel", "filter": {"kind": "3", "status": "PENDING"}}
    )
    assert answer.status_code == 202, answer.text
    url = answer.json()["url"]
    assert answer.json()["total"] == QUEUED

    def under_way() -> bool:
        job = client.get(url).json()
        assert job["state"] != "done", "the job ended before it could be interrupted"
        return bool(job["state"] == "running" and job["done"] >= 200)

    wait_for(under_way, 30, "the bulk job to be under way", interval=0.05)
    [pool_process] = pool_processes(faults.services["victim"])
    os.kill(pool_process, signal.SIGKILL)

    def ended() -> dict[str, Any] | None:
        job = client.get(url).json()
        return job if job["state"] in ("done", "failed") else None

    job = wait_for(ended, 90, "the bulk job to end")
    assert (job["state"], job["done"], job["skipped"]) == ("done", QUEUED, 0), job
    # Every task cancelled once: the batch the kill cut short was rolled back and
    # done again, none twice, none left behind.
    assert faults.fetch(
        "SELECT count(*) FROM tasks_taskrecord WHERE kind = 3 AND status = 'PENDING'"
    ) == [(0,)]
    twice = faults.fetch(
        "SELECT task_id FROM tasks_taskevent WHERE status = 'REVOKED'"
        " GROUP BY task_id HAVING count(*) > 1"
    )
    assert twice == []
    assert "WorkerLostError" in faults.services["victim"].log()
