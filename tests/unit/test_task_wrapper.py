"""The Celery wrapper keeps the record up to date (run eagerly, without a broker)."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.tasks import run_task

pytestmark = pytest.mark.django_db


@override_settings(TASK_TIME_SCALE=0.001)
def test_run_task_marks_its_record_succeeded() -> None:
    task = TaskRecord.objects.create(kind=Kind.SHORT)

    run_task.apply(args=(int(Kind.SHORT),), task_id=str(task.task_id))

    task.refresh_from_db()
    assert task.status == Status.SUCCESS
    assert task.progress == 100


def test_run_task_marks_its_record_failed_on_an_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("webapp.tasks.catalogue.bodies.run", explode)
    task = TaskRecord.objects.create(kind=Kind.SHORT)

    run_task.apply(args=(int(Kind.SHORT),), task_id=str(task.task_id))

    task.refresh_from_db()
    assert task.status == Status.FAILURE
    assert task.error == "RuntimeError: disk on fire"


@pytest.mark.django_db(transaction=True)
def test_an_instant_task_starts_and_finishes_in_one_commit() -> None:
    # Each commit waits for SQLite's single writer, behind every submit: an instant
    # task's start and finish share one.
    task = TaskRecord.submit(Kind.INSTANT)

    with CaptureQueriesContext(connection) as queries:
        run_task.apply(args=(int(Kind.INSTANT),), task_id=str(task.task_id))

    task.refresh_from_db()
    assert task.status == Status.SUCCESS
    assert (task.attempts, task.progress) == (1, 100)
    assert task.started_at is not None
    assert task.finished_at is not None
    assert list(task.events.values_list("status", flat=True)) == ["PENDING", "STARTED", "SUCCESS"]
    transactions = [q["sql"] for q in queries if q["sql"].startswith("BEGIN")]
    assert len(transactions) == 1


@pytest.mark.django_db(transaction=True)
def test_an_instant_task_whose_body_fails_is_recorded_started_then_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("webapp.tasks.catalogue.bodies.run", explode)
    task = TaskRecord.submit(Kind.INSTANT)

    run_task.apply(args=(int(Kind.INSTANT),), task_id=str(task.task_id))

    task.refresh_from_db()
    assert (task.status, task.error, task.attempts) == (
        Status.FAILURE,
        "RuntimeError: disk on fire",
        1,
    )
    assert list(task.events.values_list("status", flat=True)) == ["PENDING", "STARTED", "FAILURE"]


@pytest.mark.django_db(transaction=True)
def test_a_second_copy_of_an_instant_task_is_skipped() -> None:
    task = TaskRecord.submit(Kind.INSTANT)
    run_task.apply(args=(int(Kind.INSTANT),), task_id=str(task.task_id))

    run_task.apply(args=(int(Kind.INSTANT),), task_id=str(task.task_id))

    task.refresh_from_db()
    assert (task.status, task.attempts) == (Status.SUCCESS, 1)
    assert task.events.count() == 3
