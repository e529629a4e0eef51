"""A task that Celery ends outside its body never stays STARTED: killed at the hard
time limit it ends FAILURE saying so; terminated from Flower (a revoke with
terminate, sent to the workers) it ends REVOKED with a note saying where it came from.
"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, Stack, start_worker, wait_for
from tests.integration.conftest import submit, wait_for_status
from tests.reliability.conftest import (
    curl_like,
    notes,
    private_stack,
    start_private_web,
    timeline,
)

# A short task sleeps 10 s, past the hard time limit of 4 s.
SETTINGS = {"TASK_TIME_SCALE": "1", "TASK_TIME_LIMIT": "4"}


@pytest.fixture(scope="module")
def faults(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with private_stack(migrated, tmp_path_factory.mktemp("outside"), **SETTINGS) as stack:
        start_worker(stack)
        start_private_web(stack)
        yield stack


@pytest.fixture
def client(faults: Stack) -> Iterator[httpx.Client]:
    with curl_like(faults.url) as c:
        yield c


def test_a_task_past_the_hard_time_limit_ends_failure_with_the_reason(
    faults: Stack, client: httpx.Client
) -> None:
    task_id = submit(client, 1)["task_id"]

    task = wait_for_status(client, task_id, "FAILURE", timeout=30)

    assert task["error"] == (
        "Stopped at the hard time limit of 4 s (TASK_TIME_LIMIT): its process was killed."
    )
    assert task["finished_at"]
    assert timeline(faults, task_id) == ["PENDING", "STARTED", "FAILURE"]
    # Nothing runs it again: the message was acknowledged.
    assert client.get(f"/tasks/{task_id}/").json()["attempts"] == 1


def test_a_task_terminated_from_flower_ends_revoked_with_a_note(
    faults: Stack, client: httpx.Client
) -> None:
    task_id = submit(client, 1)["task_id"]
    wait_for_status(client, task_id, "STARTED", timeout=30)

    # What Flower's "terminate" button sends.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from webapp.celery import app; "
            "app.control.revoke(sys.argv[1], terminate=True, signal='SIGTERM')",
            task_id,
        ],
        cwd=ROOT,
        env=faults.env,
        check=True,
    )

    task = wait_for_status(client, task_id, "REVOKED", timeout=10)
    assert task["finished_at"]
    assert timeline(faults, task_id) == ["PENDING", "STARTED", "REVOKED"]
    assert notes(faults, task_id)[-1] == (
        "terminated outside the dashboard (signal 15), e.g. from Flower"
    )


def test_a_task_cancelled_on_the_dashboard_keeps_the_dashboards_note(
    faults: Stack, client: httpx.Client
) -> None:
    task_id = submit(client, 1)["task_id"]
    wait_for_status(client, task_id, "STARTED", timeout=30)

    assert client.post(f"/tasks/{task_id}/cancel/").status_code < 400
    wait_for(
        lambda: "Terminating" in faults.services["worker"].log(), 10, "the worker to terminate"
    )

    assert notes(faults, task_id)[-1] == "cancelled while running"
