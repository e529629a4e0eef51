"""A burst of 1 000 submissions from 20 concurrent clients: every one is recorded
once and runs to SUCCESS, nothing answers 5xx, and SQLite, written at once by two
gunicorn workers and a worker's two processes, never reports "database is locked"."""

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import Stack, start_worker
from tests.reliability.conftest import curl_like, private_stack, start_private_web, task_rows

SUBMISSIONS = 1000
CLIENTS = 20


@pytest.fixture(scope="module")
def faults(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with private_stack(migrated, tmp_path_factory.mktemp("burst")) as stack:
        start_worker(stack)  # one worker, two processes
        start_private_web(stack)  # two gunicorn workers
        yield stack


def submit_share(url: str, count: int) -> list[tuple[int, str]]:
    """One client's share of the burst: (status code, task id or error) per post."""
    answers = []
    with curl_like(url, timeout=60) as client:
        for _ in range(count):
            response = client.post("/tasks/", files={"type": (None, "0")})
            body = response.json() if response.status_code < 500 else {}
            answers.append((response.status_code, body.get("task_id") or response.text[:200]))
    return answers


def test_a_burst_of_submissions_is_recorded_and_run_exactly_once(faults: Stack) -> None:
    started = time.monotonic()

    with ThreadPoolExecutor(CLIENTS) as pool:
        shares = pool.map(submit_share, [faults.url] * CLIENTS, [SUBMISSIONS // CLIENTS] * CLIENTS)
        answers = [answer for share in shares for answer in share]
    submitted = time.monotonic() - started
    faults.wait_until_idle(timeout=120)
    finished = time.monotonic() - started

    codes = Counter(code for code, _ in answers)
    assert codes == {202: SUBMISSIONS}, codes
    task_ids = [task_id for _, task_id in answers]
    assert len(set(task_ids)) == SUBMISSIONS
    rows = task_rows(faults)
    assert len(rows) == SUBMISSIONS
    assert {str(row["task_id"]) for row in rows} == {t.replace("-", "") for t in task_ids}
    assert Counter(row["status"] for row in rows) == {"SUCCESS": SUBMISSIONS}
    assert Counter(row["attempts"] for row in rows) == {1: SUBMISSIONS}
    with curl_like(faults.url) as client:
        counts = client.get("/tasks/").json()["counts"]
    assert counts["SUCCESS"] == SUBMISSIONS, "the counters stayed exact"
    for service in faults.services.values():
        assert "database is locked" not in service.log(), service.name
        assert "Traceback" not in service.log(), service.name
    print(  # shown with -s; the README quotes these
        f"{SUBMISSIONS} submissions in {submitted:.1f} s ({SUBMISSIONS / submitted:.0f}/s), "
        f"all run in {finished:.1f} s ({SUBMISSIONS / finished:.0f}/s)"
    )
