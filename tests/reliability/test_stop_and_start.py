"""Ctrl-C on `make run` while tasks run loses nothing, and runs nothing twice at once.

The real supervisor (scripts/run-stack) runs Redis, gunicorn, a worker and Flower on
free ports with a private database and Redis directory. Six tasks run; the
supervisor gets SIGINT, as a terminal's Ctrl-C sends it; it stops everything in
order; started again, every task ends SUCCESS, except the one not safe to repeat,
which ends FAILURE saying it was interrupted by a stop, ready to be retried.
"""

import os
import re
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, free_port, stack_environment, wait_for
from tests.integration.conftest import submit
from tests.reliability.conftest import curl_like

# Tasks run 10 s; the worker gets 1 s to finish them when stopped, so all six are
# cut short.
SHORT, NOTIFY = 1, 7
SETTINGS = {"TASK_TIME_SCALE": "1", "WORKER_SHUTDOWN_TIMEOUT": "1", "WORKER_CONCURRENCY": "6"}


@dataclass
class Supervised:
    """One run of scripts/run-stack, its output in a file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"started with pid (\d+)", self.log())]


@dataclass
class MakeRun:
    url: str
    env: dict[str, str]
    directory: Path
    runs: int = 0

    def start(self) -> Supervised:
        self.runs += 1
        log_path = self.directory / f"run-stack-{self.runs}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                ["scripts/run-stack"], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        run = Supervised(process, log_path)
        wait_for(lambda: answers(self.url) or process.poll() is not None, 90, "the stack")
        assert process.poll() is None, run.log()
        return run

    def rows(self) -> dict[str, tuple[str, str, int]]:
        """task id -> (status, error, attempts)"""
        with sqlite3.connect(self.directory / "db.sqlite3") as db:
            found = db.execute("SELECT task_id, status, error, attempts FROM tasks_taskrecord")
            return {
                task_id: (status, error, attempts) for task_id, status, error, attempts in found
            }

    def timeline(self, task_id: str) -> list[tuple[str, str]]:
        with sqlite3.connect(self.directory / "db.sqlite3") as db:
            return list(
                db.execute(
                    "SELECT e.status, e.note FROM tasks_taskevent e "
                    "JOIN tasks_taskrecord t ON e.task_id = t.id "
                    "WHERE t.task_id = ? ORDER BY e.at, e.id",
                    (task_id.replace("-", ""),),
                )
            )


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def gone(pid: int) -> bool:
    """Whether no process is left in the session (and group) that `pid` led."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def stack(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    directory = tmp_path_factory.mktemp("make-run")
    with (
        sqlite3.connect(migrated / "db.sqlite3") as source,
        sqlite3.connect(directory / "db.sqlite3") as target,
    ):
        source.backup(target)
    web_port, flower_port, redis_port = free_port(), free_port(), free_port()
    env = stack_environment(directory, redis_port) | {
        "STATIC_ROOT": str(migrated / "static"),
        "REDIS_PORT": str(redis_port),
        "REDIS_DIR": str(directory / "redis"),
        "GUNICORN_BIND": f"127.0.0.1:{web_port}",
        "GUNICORN_WORKERS": "1",
        "FLOWER_PORT": str(flower_port),
        **SETTINGS,
    }
    del env["REDIS_URL"]  # as on a developer's machine: run-stack starts Redis
    make_run = MakeRun(f"http://127.0.0.1:{web_port}", env, directory)
    yield make_run
    for log in directory.glob("run-stack-*.log"):
        for pid in map(int, re.findall(r"started with pid (\d+)", log.read_text())):
            if not gone(pid):
                os.killpg(pid, signal.SIGKILL)


def test_ctrl_c_while_tasks_run_loses_none_and_the_next_start_finishes_them(
    stack: MakeRun,
) -> None:
    first = stack.start()
    banner = first.log()
    assert f"http://{stack.env['GUNICORN_BIND']}/" in banner
    assert f"http://127.0.0.1:{stack.env['FLOWER_PORT']}/" in banner
    with curl_like(stack.url) as client:
        task_ids = [submit(client, kind)["task_id"] for kind in [SHORT] * 5 + [NOTIFY]]
        notify_id = task_ids[-1]

        def all_running() -> bool:
            tasks = [client.get(f"/tasks/{task_id}/").json() for task_id in task_ids]
            return all(t["task_status"] == "STARTED" and t["progress"] >= 5 for t in tasks)

        wait_for(all_running, 60, "six tasks running", interval=0.2)

    first.process.send_signal(signal.SIGINT)
    assert first.process.wait(60) == 0, first.log()
    for pid in first.pids():
        assert gone(pid), f"process group {pid} outlived the supervisor"
    # What kombu's Redis transport does with a cancelled run's message at a cold
    # shutdown: it puts it back in the queue as the worker disconnects.
    assert "Restoring 6 unacknowledged message(s)" in first.log()
    stopped = stack.rows()
    key = {task_id: task_id.replace("-", "") for task_id in task_ids}
    assert [stopped[key[t]][0] for t in task_ids] == ["PENDING"] * 5 + ["FAILURE"]
    # Web and Flower stopped before the worker; Redis last.
    log = first.log()
    order = [
        re.search(rf"^\S+ {name}\s+\| stopping", log, re.MULTILINE).start()  # type: ignore[union-attr]
        for name in ("flower", "web", "worker", "redis")
    ]
    assert order == sorted(order)

    second = stack.start()
    wait_for(
        lambda: all(stack.rows()[key[t]][0] in ("SUCCESS", "FAILURE") for t in task_ids),
        90,
        "every task to end",
        interval=0.5,
    )
    second.process.send_signal(signal.SIGINT)
    assert second.process.wait(60) == 0, second.log()

    rows = stack.rows()
    for task_id in task_ids[:5]:
        status, error, attempts = rows[key[task_id]]
        assert (status, error, attempts) == ("SUCCESS", "", 2)
        events = stack.timeline(task_id)
        assert [status for status, _ in events] == [
            "PENDING", "STARTED", "PENDING", "STARTED", "SUCCESS"
        ]  # fmt: skip
        assert re.fullmatch(
            r"interrupted by a stop of worker worker@\S+; will run again", events[2][1]
        )
    status, error, attempts = rows[key[notify_id]]
    assert status == "FAILURE"
    assert attempts == 1
    assert error.startswith("Interrupted by a stop of worker worker@")
    assert "not safe to repeat. Retry it if it should run." in error
    assert [status for status, _ in stack.timeline(notify_id)] == ["PENDING", "STARTED", "FAILURE"]
    # Its redelivered message was refused, not run.
    assert f"skipping task {notify_id}" in second.log()
