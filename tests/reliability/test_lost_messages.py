"""No PENDING task waits forever for a message that never reached Redis.

A broker that accepts connections and never answers (a half-open connection) makes
a submit answer 503 within seconds, instead of holding a gunicorn worker until it
is killed; a record committed by a process that died before publishing is found by
the workers' sweep, sent again, and runs to SUCCESS.
"""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Stack, free_port, start_web, start_worker
from tests.integration.conftest import wait_for_status
from tests.reliability.conftest import curl_like, notes, private_stack, start_private_web, timeline

BROKER_DOWN = "The task queue is not reachable right now"


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_submit_to_a_broker_that_never_answers_is_refused_within_seconds(
    migrated: Path, tmp_path_factory: pytest.TempPathFactory, silent_broker: int
) -> None:
    with private_stack(migrated, tmp_path_factory.mktemp("silent")) as stack:
        port = free_port()
        env = stack.env | {"REDIS_URL": f"redis://127.0.0.1:{silent_broker}/0"}
        start_web(stack, port, env=env)
        with curl_like(f"http://127.0.0.1:{port}", timeout=40) as client:
            began = time.monotonic()
            response = client.post("/tasks/", files={"type": (None, "1")})
            took = time.monotonic() - began

            assert response.status_code == 503
            assert BROKER_DOWN in response.text
            assert took < 10, f"the submit took {took:.1f} s"
            assert client.get("/tasks/").json()["tasks"] == []  # nothing left behind


@pytest.fixture(scope="module")
def sweeping(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Rows are checked 2 s after they were submitted.
    directory = tmp_path_factory.mktemp("orphans")
    with private_stack(migrated, directory, ORPHAN_AFTER_SECONDS="2") as stack:
        start_worker(stack)
        start_private_web(stack)
        yield stack


def test_a_task_committed_but_never_published_is_sent_and_runs(sweeping: Stack) -> None:
    # What a web process that died between the commit and the publish leaves.
    task_id = sweeping.manage(
        "shell",
        "--verbosity=0",
        "-c",
        "from webapp.tasks.models import TaskRecord; "
        "from webapp.tasks.catalogue.kinds import Kind; "
        "print(TaskRecord.submit(Kind.SHORT).task_id)",
    ).strip()

    with curl_like(sweeping.url) as client:
        task = wait_for_status(client, task_id, "SUCCESS", timeout=40)

    assert task["attempts"] == 1
    assert timeline(sweeping, task_id) == ["PENDING", "PENDING", "STARTED", "SUCCESS"]
    assert notes(sweeping, task_id)[1] == "its message never reached the queue; sent again"
    assert f"task {task_id} queued again: its message never reached Redis" in (
        sweeping.services["worker"].log()
    )
