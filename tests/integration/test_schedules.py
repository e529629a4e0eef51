"""Periodic schedules with a real `celery beat` (DatabaseScheduler) on the stack's
database and Redis: a schedule runs at its cadence, each run a task in the table linked
to its schedule; disabling stops it without a restart; run now launches one."""

from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest

from conftest import Service, Stack, start_beat, wait_for
from tests.integration.conftest import wait_for_status


@pytest.fixture(scope="module")
def beat(stack: Stack) -> Iterator[Service]:
    # A short --max-interval: beat rereads its schedule (and sees changes) each second.
    service = start_beat(stack, max_interval=1)
    try:
        yield service
    finally:
        service.stop()
        stack.wait_until_idle()


def add(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/schedules/", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == response.json()["url"]
    return dict(response.json())


def run_times(stack: Stack, schedule_id: int) -> list[datetime]:
    query = "SELECT submitted_at FROM tasks_taskrecord WHERE schedule_id = %d ORDER BY id"
    rows = stack.fetch(query % schedule_id)
    return [
        value if isinstance(value, datetime) else datetime.fromisoformat(value) for (value,) in rows
    ]


def test_beat_keeps_the_retention_job_in_its_tables(stack: Stack, beat: Service) -> None:
    def retention_rows() -> list[tuple[object, ...]]:
        return stack.fetch(
            "SELECT p.task, i.every, i.period FROM django_celery_beat_periodictask p "
            "JOIN django_celery_beat_intervalschedule i ON p.interval_id = i.id "
            "WHERE p.name = 'apply-retention' AND p.enabled"
        )

    # Beat writes it as its scheduler starts, just after it says it is starting.
    rows = wait_for(retention_rows, 20, "beat to copy CELERY_BEAT_SCHEDULE into its tables")

    assert rows == [("tasks.apply_retention", 3600, "seconds")]


def test_a_schedule_every_two_seconds_runs_at_that_cadence(
    client: httpx.Client, stack: Stack, beat: Service
) -> None:
    schedule = add(client, type="instant", every=2, period="seconds")
    try:
        times = wait_for(
            lambda: (found := run_times(stack, schedule["id"])) and len(found) >= 4 and found,
            40,
            "four runs of a schedule every 2 s",
        )

        # Beat keeps the cadence; each launch then waits for a free worker process,
        # so one gap may be short and the next long, but on average they are 2 s.
        gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
        assert 1.5 <= sum(gaps) / len(gaps) <= 3.0, gaps
        answer = client.get(schedule["url"]).json()
        assert answer["last_run_at"] is not None
        assert answer["next_run_at"] is not None
        run = answer["runs"][0]
        task = wait_for_status(client, run["task_id"], "SUCCESS")
        assert task["schedule"] == schedule["url"]
        assert task["kind_name"] == "instant"
        listed = {t["task_id"] for t in client.get("/tasks/").json()["tasks"]}
        assert run["task_id"] in listed  # a normal task in the table
    finally:
        client.post(f"{schedule['url']}delete/")


def test_disabling_stops_the_runs_without_restarting_beat(
    client: httpx.Client, stack: Stack, beat: Service
) -> None:
    schedule = add(client, type="instant", every=1, period="seconds")
    wait_for(lambda: len(run_times(stack, schedule["id"])) >= 2, 30, "two runs")
    changes_seen = beat.log().count("Schedule changed")

    disabled = client.post(f"{schedule['url']}disable/")
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    wait_for(lambda: beat.log().count("Schedule changed") > changes_seen, 15, "beat to reread")
    stack.wait_until_idle()
    runs_when_disabled = len(run_times(stack, schedule["id"]))
    # A second schedule is the clock: three of its runs take three seconds or more,
    # three chances for the disabled one to run if it still did.
    clock = add(client, type="instant", every=1, period="seconds")
    try:
        wait_for(lambda: len(run_times(stack, clock["id"])) >= 3, 30, "three runs of the clock")

        assert len(run_times(stack, schedule["id"])) == runs_when_disabled
    finally:
        client.post(f"{clock['url']}delete/")
        client.post(f"{schedule['url']}delete/")


def test_run_now_launches_one_run_linked_to_its_schedule(
    client: httpx.Client, stack: Stack, beat: Service
) -> None:
    schedule = add(client, type="short", params={"seconds": 1}, cron="0 0 1 1 *")
    try:
        response = client.post(f"{schedule['url']}run/")

        assert response.status_code == 202, response.text
        task = response.json()
        assert response.headers["Location"] == task["url"]
        assert task["schedule"] == schedule["url"]
        assert task["params"] == {"seconds": 1}
        wait_for_status(client, task["task_id"], "SUCCESS")
        assert [run["task_id"] for run in client.get(schedule["url"]).json()["runs"]] == [
            task["task_id"]
        ]
    finally:
        client.post(f"{schedule['url']}delete/")


def test_a_deleted_schedule_leaves_its_runs_unlinked(
    client: httpx.Client, stack: Stack, beat: Service
) -> None:
    schedule = add(client, type="instant", cron="0 0 1 1 *")
    task = client.post(f"{schedule['url']}run/").json()

    deleted = client.post(f"{schedule['url']}delete/")

    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": schedule["id"]}
    assert client.get(schedule["url"]).status_code == 404
    assert wait_for_status(client, task["task_id"], "SUCCESS")["schedule"] is None


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"type": "short", "every": "0"}, "every", "whole number from 1"),
        ({"type": "short", "cron": "*/5 * *"}, "cron", "five fields"),
        ({"type": "short", "cron": "0 25 * * *"}, "cron", "does not parse"),
        ({"type": "short", "every": "2", "period": "fortnights"}, "period", "seconds, minutes"),
        ({"type": "short", "every": "2", "speed": "3"}, "speed", "no parameter 'speed'"),
        ({"type": "short", "every": "2", "seconds": "500"}, "seconds", "from 0 to 100"),
        ({"type": "bogus", "every": "2"}, "type", "not a task type"),
    ],
)
def test_curl_gets_a_400_naming_the_refused_field(
    client: httpx.Client, fields: dict[str, str], field: str, says: str
) -> None:
    def ids() -> list[int]:
        return [schedule["id"] for schedule in client.get("/schedules/").json()["schedules"]]

    before = ids()

    response = client.post("/schedules/", files={k: (None, v) for k, v in fields.items()})

    assert response.status_code == 400, response.text
    assert says in response.json()["errors"][field]
    assert ids() == before
