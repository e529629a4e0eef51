"""A task's output (running/output.py): what its body logs is kept, bounded, stored when the
run ends, shown escaped on its page and in its JSON, and goes with the task."""

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from celery.utils.log import get_task_logger
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from conftest import free_port
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskOutput, TaskRecord
from webapp.tasks.running import output, retention
from webapp.tasks.tasks import run_task

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(autouse=True)
def unreachable_redis(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Redis in unit tests: a port where nothing listens, so every send and live
    read fails at once, as when Redis is down."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setattr(output, "_client", None)


@pytest.fixture
def eager(settings: Settings) -> Iterator[None]:
    from webapp.celery import app

    settings.TASK_TIME_SCALE = 0.001
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def started(kind: Kind = Kind.SHORT, **fields: Any) -> TaskRecord:
    record = TaskRecord.submit(kind, **fields)
    TaskRecord.mark_started(str(record.task_id), worker="w1")
    record.refresh_from_db()
    return record


def succeeded(lines: list[str], **fields: Any) -> TaskRecord:
    record = started(**fields)
    TaskRecord.mark_succeeded(str(record.task_id), {"ok": True})
    TaskOutput.keep(str(record.task_id), lines, 0, 0)
    record.refresh_from_db()
    return record


# --- Bounds -------------------------------------------------------------------------


def test_it_keeps_the_last_200_lines_and_counts_the_rest() -> None:
    capture = output.Capture("t")

    for n in range(1, 501):
        capture.add(f"line {n}")

    kept = capture.snapshot()
    assert kept.lines == [f"line {n}" for n in range(301, 501)]
    assert kept.dropped_lines == 300
    assert kept.dropped_bytes == sum(len(f"line {n}") for n in range(1, 301))
    assert kept.truncated


def test_it_keeps_at_most_64_kb_of_the_newest_lines() -> None:
    capture = output.Capture("t")

    for n in range(100):
        capture.add(f"{n:04d}" + "x" * 996)  # 1000 bytes a line

    kept = capture.snapshot()
    assert len(kept.lines) == output.MAX_BYTES // 1000 == 65
    assert kept.lines[-1].startswith("0099")
    assert kept.dropped_lines == 35
    assert kept.dropped_bytes == 35 * 1000


def test_an_over_long_line_keeps_its_start_and_counts_what_was_cut() -> None:
    capture = output.Capture("t")

    capture.add("y" * (output.MAX_LINE_BYTES + 500))

    kept = capture.snapshot()
    assert kept.lines == ["y" * output.MAX_LINE_BYTES + "… [500 bytes cut]"]
    assert (kept.dropped_lines, kept.dropped_bytes) == (0, 500)


def test_a_retry_goes_on_from_the_output_of_the_attempt_before() -> None:
    earlier = output.Output([f"a{n}" for n in range(150)], dropped_lines=7, dropped_bytes=70)

    capture = output.Capture("t", earlier)
    for n in range(100):
        capture.add(f"b{n}")

    kept = capture.snapshot()
    assert kept.lines == [f"a{n}" for n in range(50, 150)] + [f"b{n}" for n in range(100)]
    assert kept.dropped_lines == 7 + 50


# --- Capture in the worker -----------------------------------------------------------


def test_a_task_body_run_by_celery_has_its_logged_lines_kept(eager: None) -> None:
    record = TaskRecord.submit(Kind.SHORT)

    run_task.apply(args=(int(Kind.SHORT),), task_id=str(record.task_id))

    record.refresh_from_db()
    assert record.status == Status.SUCCESS
    lines = TaskOutput.objects.get(task=record).lines
    messages = [line.split(" ", 2)[2] for line in lines]  # after the time and level
    assert messages[0] == "sleeping 0.0 s in 20 steps"
    assert messages[1:21] == [f"step {n} of 20 done" for n in range(1, 21)]
    assert messages[21] == "slept 0.0 s"
    # Celery's own line about the run is logged inside it too.
    assert messages[22].startswith(f"Task tasks.run[{record.task_id}] succeeded in ")
    assert all(line.split(" ")[1] == "INFO" for line in lines)


def test_lines_from_any_logger_and_celerys_task_logger_are_kept_but_not_other_threads(
    settings: Settings,
) -> None:
    record = started()
    task_id = str(record.task_id)
    task = type("Task", (), {"name": "teams.report", "request": None})()
    output.start_capture(task_id=task_id, task=task)

    logging.getLogger("teams.report").info("read %d rows", 42)
    get_task_logger("teams.report").warning("row 7 is odd")
    logging.getLogger("teams.report").debug("not at INFO: left out")
    elsewhere = threading.Thread(target=lambda: logging.getLogger("x").info("not this task's"))
    elsewhere.start()
    elsewhere.join()
    output.end_capture(task_id=task_id)

    lines = TaskOutput.objects.get(task=record).lines
    assert [line.split(" ", 1)[1] for line in lines] == [
        "INFO read 42 rows",
        "WARNING row 7 is odd",
    ]


def test_with_redis_down_the_task_still_finishes_and_its_output_is_stored(eager: None) -> None:
    # (The autouse fixture points REDIS_URL at a closed port.)
    record = TaskRecord.submit(Kind.SHORT)

    run_task.apply(args=(int(Kind.SHORT),), task_id=str(record.task_id))

    record.refresh_from_db()
    assert record.status == Status.SUCCESS
    assert TaskOutput.objects.get(task=record).lines[-2].endswith("INFO slept 0.0 s")


def test_a_retried_run_goes_on_from_the_stored_output_of_the_attempt_before() -> None:
    record = succeeded(["12:00:00 WARNING the upstream did not answer (attempt 1)"])
    task_id = str(record.task_id)
    request = type("Request", (), {"retries": 1, "delivery_info": {}})()
    task = type("Task", (), {"name": "tasks.run", "request": request})()

    output.start_capture(task_id=task_id, task=task)
    logging.getLogger("x").info("the upstream answered")
    output.end_capture(task_id=task_id)

    lines = TaskOutput.objects.get(task=record).lines
    assert lines[0] == "12:00:00 WARNING the upstream did not answer (attempt 1)"
    assert lines[1].endswith("INFO the upstream answered")


def test_a_task_without_a_record_keeps_nothing() -> None:
    task = type("Task", (), {"name": "tasks.launch_schedule", "request": None})()
    output.start_capture(task_id="0c0ffee0-0000-4000-8000-000000000000", task=task)
    logging.getLogger("x").info("launching")
    output.end_capture(task_id="0c0ffee0-0000-4000-8000-000000000000")

    assert not TaskOutput.objects.exists()


# --- Reading ---------------------------------------------------------------------------


def test_a_running_tasks_output_is_unavailable_while_redis_is_down() -> None:
    record = started()

    shown = output.shown(record)

    assert not shown.available
    assert shown.as_json() == {
        "lines": [],
        "dropped_lines": 0,
        "dropped_bytes": 0,
        "truncated": False,
        "available": False,
    }


def test_a_task_that_never_started_has_no_output_and_costs_no_read() -> None:
    record = TaskRecord.submit(Kind.SHORT)

    assert output.shown(record) == output.Output(version="none")


def test_a_finished_tasks_json_carries_its_stored_output(client: Client) -> None:
    record = succeeded(["12:00:00 INFO one", "12:00:01 INFO two"])
    TaskOutput.objects.filter(task=record).update(dropped_lines=312, dropped_bytes=4096)

    answer = client.get(record.url, headers={"accept": "application/json"}).json()

    assert answer["output"] == {
        "lines": ["12:00:00 INFO one", "12:00:01 INFO two"],
        "dropped_lines": 312,
        "dropped_bytes": 4096,
        "truncated": True,
        "available": True,
    }


def test_the_page_and_its_fragment_show_hostile_output_as_text(client: Client) -> None:
    record = succeeded([f"12:00:00 INFO {HOSTILE}"])

    page = client.get(record.url, headers={"accept": "text/html"}).content.decode()
    fragment = client.get(record.url, headers={"HX-Request": "true"}).content.decode()

    for html in (page, fragment):
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "<script>alert" not in html
        assert "<img src=x" not in html


def test_the_page_says_how_many_earlier_lines_were_not_kept(client: Client) -> None:
    record = succeeded(["12:00:00 INFO last"])
    TaskOutput.objects.filter(task=record).update(dropped_lines=312, dropped_bytes=40960)

    page = client.get(record.url, headers={"accept": "text/html"}).content.decode()

    assert "312 earlier lines not kept (40.0\xa0KB)" in page


def test_another_users_task_output_is_a_404(client: Client, settings: Settings) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    record = succeeded(["12:00:00 INFO alice's secret"], owner=alice)
    client.force_login(bob)

    for accept in ("application/json", "text/html"):
        answer = client.get(record.url, headers={"accept": accept})
        assert answer.status_code == 404
        assert "secret" not in answer.content.decode()


# --- Retention ---------------------------------------------------------------------


def test_output_goes_with_its_task_deleted_or_swept_by_retention() -> None:
    deleted, swept, left = succeeded(["a"]), succeeded(["b"]), succeeded(["c"])
    TaskRecord.objects.filter(pk=swept.pk).update(finished_at=timezone.now().replace(year=2000))

    deleted.delete()
    retention.delete_finished(TaskRecord.objects.all(), timezone.now().replace(year=2001))

    assert list(TaskOutput.objects.values_list("task_id", flat=True)) == [left.pk]
