"""Queues with a real worker: a paused queue's task waits while the others run, then
runs when resumed; a pause outlives a restart of the worker."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import Stack, start_worker, wait_for
from tests.integration.conftest import submit, wait_for_status

CPU, INSTANT = 4, 0


def queue(client: httpx.Client, name: str) -> dict[str, Any]:
    listed = client.get("/queues/").json()["queues"]
    return dict(next(q for q in listed if q["name"] == name))


def consumers_are(client: httpx.Client, name: str, count: int) -> None:
    """Wait until the workers report (on their heartbeat) `count` consumers of `name`."""
    wait_for(
        lambda: queue(client, name)["consumers"] == count,
        15,
        f"{count} consumer(s) of queue {name}",
        interval=0.2,
    )


@pytest.fixture
def cpu_queue_resumed_after(client: httpx.Client) -> Iterator[None]:
    yield
    client.post("/queues/cpu/resume/")
    consumers_are(client, "cpu", 1)


def test_a_paused_queue_keeps_its_task_waiting_while_others_run_until_resumed(
    stack: Stack, client: httpx.Client, cpu_queue_resumed_after: None
) -> None:
    consumers_are(client, "cpu", 1)

    paused = client.post("/queues/cpu/pause/")
    consumers_are(client, "cpu", 0)
    waiting = submit(client, CPU)
    ran = submit(client, INSTANT)

    assert paused.status_code == 200
    assert paused.json()["paused"] is True
    wait_for_status(client, ran["task_id"], "SUCCESS")
    cpu = queue(client, "cpu")
    assert client.get(f"/tasks/{waiting['task_id']}/").json()["task_status"] == "PENDING"
    assert cpu["waiting"] == 1  # its message, in Redis
    assert cpu["oldest_waiting"]["task_id"] == waiting["task_id"]
    assert queue(client, "default")["consumers"] == 1

    resumed = client.post("/queues/cpu/resume/")

    assert resumed.json()["paused"] is False
    wait_for_status(client, waiting["task_id"], "SUCCESS", timeout=60)
    assert queue(client, "cpu")["waiting"] == 0


def test_a_queue_paused_before_a_worker_restart_stays_paused(
    stack: Stack, client: httpx.Client, cpu_queue_resumed_after: None
) -> None:
    client.post("/queues/cpu/pause/")
    consumers_are(client, "cpu", 0)
    log_before = len(stack.services["worker"].log())

    stack.services["worker"].stop()
    start_worker(stack)
    waiting = submit(client, CPU)
    ran = submit(client, INSTANT)

    wait_for_status(client, ran["task_id"], "SUCCESS")
    # Left out before it consumed anything, not only at its first heartbeat.
    assert (
        "queue(s) cpu paused: not consuming from them"
        in stack.services["worker"].log()[log_before:]
    )
    consumers_are(client, "cpu", 0)
    assert client.get(f"/tasks/{waiting['task_id']}/").json()["task_status"] == "PENDING"

    client.post("/queues/cpu/resume/")

    wait_for_status(client, waiting["task_id"], "SUCCESS", timeout=60)


def test_a_worker_of_the_paused_queue_alone_starts_idle_and_takes_it_back_on_resume(
    stack: Stack, client: httpx.Client, cpu_queue_resumed_after: None
) -> None:
    # As `make run`'s and compose's worker-cpu, started while its only queue is paused.
    client.post("/queues/cpu/pause/")
    consumers_are(client, "cpu", 0)

    cpu_worker = start_worker(stack, "cpu-only", concurrency=1, queues="cpu")
    try:
        assert cpu_worker.process.poll() is None
        consumers_are(client, "cpu", 0)

        client.post("/queues/cpu/resume/")

        consumers_are(client, "cpu", 2)  # it, and the suite's worker
    finally:
        cpu_worker.stop()
