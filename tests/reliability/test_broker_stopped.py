"""Redis stopped: submitting answers 503 in every form and leaves nothing behind,
history still renders, and once Redis is back everything works without a restart."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import Stack, start_redis, start_worker
from tests.integration.conftest import submit, wait_for_status
from tests.reliability.conftest import (
    curl_like,
    private_stack,
    redis_port,
    start_private_web,
    task_rows,
    web_service,
)

BROKER_DOWN = "The task queue is not reachable right now"


@pytest.fixture(scope="module")
def faults(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with private_stack(migrated, tmp_path_factory.mktemp("broker"), TASK_TIME_SCALE="0.1") as s:
        start_worker(s)
        start_private_web(s)
        yield s


@pytest.fixture
def client(faults: Stack) -> Iterator[httpx.Client]:
    with curl_like(faults.url) as c:
        yield c


@pytest.fixture
def redis_stopped(faults: Stack, client: httpx.Client) -> Iterator[None]:
    # Some history first, so there is something to render while Redis is away.
    wait_for_status(client, submit(client, 0)["task_id"], "SUCCESS")
    faults.services["redis"].stop()
    yield
    if faults.services["redis"].process.poll() is not None:
        start_redis(faults, redis_port(faults))


def test_submit_answers_503_as_json_and_records_nothing(
    faults: Stack, client: httpx.Client, redis_stopped: None
) -> None:
    before = task_rows(faults)

    started = time.monotonic()
    response = client.post("/tasks/", files={"type": (None, "0")})
    took = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["error"].startswith(BROKER_DOWN)
    assert task_rows(faults) == before, "no orphan record"
    print(f"503 answered in {took:.2f} s")  # shown with -s; the README quotes it


def test_submit_answers_503_as_a_page_and_as_a_fragment(
    faults: Stack, client: httpx.Client, redis_stopped: None
) -> None:
    page = client.post("/tasks/", data={"type": "1"}, headers={"Accept": "text/html"})
    fragment = client.post("/tasks/", data={"type": "1"}, headers={"HX-Request": "true"})

    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<!doctype html>" in page.text.lower()
    assert BROKER_DOWN in page.text
    assert fragment.status_code == 503
    assert fragment.text.strip().startswith('<p class="error-message" role="alert">')
    assert BROKER_DOWN in fragment.text
    assert "<html" not in fragment.text.lower()


def test_history_still_renders_while_redis_is_stopped(
    faults: Stack, client: httpx.Client, redis_stopped: None
) -> None:
    page = client.get("/", headers={"Accept": "text/html"})
    listed = client.get("/tasks/")
    fragment = client.get("/tasks/", headers={"HX-Request": "true"})

    assert page.status_code == 200
    assert 'id="task-table"' in page.text
    assert listed.status_code == 200
    assert listed.json()["tasks"][0]["task_status"] == "SUCCESS"
    assert fragment.status_code == 200


def test_submissions_work_again_once_redis_is_back_on_its_port(
    faults: Stack, client: httpx.Client, redis_stopped: None
) -> None:
    refused = client.post("/tasks/", files={"type": (None, "0")})

    start_redis(faults, redis_port(faults))

    # Neither gunicorn nor the worker was restarted.
    task_id = submit(client, 0)["task_id"]
    task = wait_for_status(client, task_id, "SUCCESS", timeout=60)
    assert refused.status_code == 503
    assert task["task_result"] == {"slept_seconds": 0.0, "steps": 1}
    assert web_service(faults).process.poll() is None
    assert faults.services["worker"].process.poll() is None
