"""A history of a million finished tasks: clearing it over HTTP deletes it in short
batches, so a worker writing progress meanwhile is never refused ("database is
locked") and never waits long; the web process's memory stays flat; the counters
stay exact. And celery beat really runs the retention job (the retention job on a
million rows: test_growth_retention.py, a module of its own so that xdist runs it
beside this one).

The million rows go in with one INSERT … SELECT (bench/fill.py), once for the module.
"""

import contextlib
import time
from pathlib import Path

import pytest

from conftest import BIN, start_worker, wait_for
from tests.reliability.conftest import (
    curl_like,
    private_stack,
    start_private_web,
    wait_for_log,
    web_service,
)
from tests.reliability.million import (
    FINISHED,
    MILLION,
    add_active_tasks,
    add_task,
    fill_million,
    group_rss_mb,
    status_counts,
)
from tests.reliability.progress_writer import ProgressWriter

# Minutes: `make test` starts this module first, beside the rest of the suite.
pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def filled(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_million(migrated, tmp_path_factory.mktemp("million"))


@pytest.mark.timeout(600)
def test_clearing_a_million_finished_tasks_never_locks_out_a_worker(
    filled: Path, tmp_path: Path
) -> None:
    with private_stack(filled, tmp_path) as stack:
        database = stack.directory / "db.sqlite3"
        active = add_active_tasks(database)
        start_private_web(stack)
        web = web_service(stack)
        rounds: list[tuple[int, float]] = []
        with curl_like(stack.url, timeout=60) as client:
            client.get("/tasks/")
            rss_before = group_rss_mb(web.process.pid)
            with ProgressWriter(database, active[0]) as writer:
                began = time.monotonic()
                response = client.post("/tasks/clear/")
                while True:
                    rounds.append((response.status_code, response.elapsed.total_seconds()))
                    assert response.status_code in (200, 202), response.text
                    body = response.json()
                    if response.status_code == 200:
                        break
                    assert body["deleted"] + body["remaining"] == MILLION
                    step = body["continue"]
                    response = client.post(step["url"], json=step["body"])
                took = time.monotonic() - began
            rss_after = group_rss_mb(web.process.pid)

        print(
            f"\nclear: {MILLION:,} rows in {took:.1f} s over {len(rounds)} requests "
            f"(longest {max(seconds for _, seconds in rounds):.1f} s); progress writes: "
            f"{writer.writes.count}, longest {writer.writes.longest_wait * 1000:.0f} ms "
            f"(for the lock {writer.writes.longest_lock_wait * 1000:.0f} ms), "
            f"refused {len(writer.writes.refused)}; web RSS {rss_before:.0f} -> "
            f"{rss_after:.0f} MB"
        )
        assert body == {"deleted": MILLION}
        assert all(seconds < 20 for _, seconds in rounds)
        assert writer.writes.refused == []
        assert writer.writes.count > 100
        # The batches bound the wait for the lock; the whole write also pays for CPU
        # and disk, shared on a loaded test machine.
        assert writer.writes.longest_lock_wait < 1.0
        assert writer.writes.longest_wait < 2.0
        assert rss_after - rss_before < 50
        assert stack.fetch("SELECT id FROM tasks_taskrecord ORDER BY id") == [
            (task,) for task in sorted(active)
        ]
        assert stack.fetch("SELECT count(*) FROM tasks_taskevent") == [(0,)]
        counters, real = status_counts(stack)
        assert counters == real
        assert "database is locked" not in web.log()
        assert "Traceback" not in web.log()


def test_celery_beat_runs_the_retention_job(migrated: Path, tmp_path: Path) -> None:
    with private_stack(migrated, tmp_path, RETENTION_INTERVAL_SECONDS="1") as stack:
        with contextlib.closing(stack.database()) as db, db:
            old = [add_task(db, status, "2026-01-01 00:00:00") for status in FINISHED]
            recent = add_task(db, "SUCCESS", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()))
        start_worker(stack)
        beat = stack.start(
            "beat",
            str(BIN / "celery"), "-A", "webapp", "beat", "--loglevel=INFO",
            "--schedule", str(stack.directory / "celerybeat-schedule"),
        )  # fmt: skip

        def old_gone() -> bool:
            ids = {task for (task,) in stack.fetch("SELECT id FROM tasks_taskrecord")}
            return not ids & set(old)

        wait_for(old_gone, 60, "the retention job to delete the old tasks")
        wait_for_log(beat.log, "Sending due task apply-retention", 10)
        wait_for_log(stack.services["worker"].log, "retention: deleted 3 finished tasks", 10)
        assert stack.fetch("SELECT id FROM tasks_taskrecord") == [(recent,)]
