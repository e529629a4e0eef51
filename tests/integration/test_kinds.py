"""The kinds beyond the seed's, run by a real worker."""

import httpx

from conftest import wait_for
from tests.integration.conftest import submit, wait_for_status


def test_cpu_heavy_kind_computes_a_digest(client: httpx.Client) -> None:
    task = wait_for_status(client, submit(client, 4)["task_id"], "SUCCESS")

    assert task["task_result"]["sha256_rounds"] > 0
    assert len(task["task_result"]["digest"]) == 16


def test_failing_kind_fails_with_a_real_exception_and_traceback(client: httpx.Client) -> None:
    task = wait_for_status(client, submit(client, 5)["task_id"], "FAILURE")

    assert task["error"].startswith("JSONDecodeError: Unterminated string")
    assert "Traceback (most recent call last)" in task["traceback"]
    assert 0 < task["progress"] < 100
    assert task["finished_at"]


def test_flaky_kind_is_retried_with_backoff_until_it_succeeds(client: httpx.Client) -> None:
    task_id = submit(client, 6)["task_id"]
    seen: set[str] = set()

    def succeeded() -> bool:
        status = client.get(f"/tasks/{task_id}/").json()["task_status"]
        seen.add(status)
        return bool(status == "SUCCESS")

    wait_for(succeeded, 60, "the flaky task to succeed", interval=0.05)

    task = client.get(f"/tasks/{task_id}/").json()
    assert "RETRY" in seen
    assert task["attempts"] == 3
    assert task["task_result"] == {"attempts": 3, "upstream": "ok"}
    statuses = [e["status"] for e in task["events"]]
    assert statuses == ["PENDING", "STARTED", "RETRY", "STARTED", "RETRY", "STARTED", "SUCCESS"]
