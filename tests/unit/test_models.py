"""State changes on the task record: conditional, so racing writers can't clobber."""

import pytest
from django.contrib.auth.models import User

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord

pytestmark = pytest.mark.django_db


def new_task() -> TaskRecord:
    return TaskRecord.objects.create(kind=Kind.SHORT)


def test_it_goes_pending_started_succeeded() -> None:
    task = new_task()
    task_id = str(task.task_id)

    assert TaskRecord.mark_started(task_id, worker="w1")
    assert TaskRecord.report_progress(task_id, 40)
    assert TaskRecord.mark_succeeded(task_id, {"ok": True})

    task.refresh_from_db()
    assert task.status == Status.SUCCESS
    assert task.progress == 100
    assert task.result == {"ok": True}
    assert task.worker == "w1"
    assert task.started_at
    assert task.finished_at
    assert task.finished_at >= task.started_at


def test_a_finished_task_never_goes_back_to_running() -> None:
    task = new_task()
    task_id = str(task.task_id)
    TaskRecord.mark_started(task_id, worker="w1")
    TaskRecord.mark_succeeded(task_id, None)

    assert not TaskRecord.mark_started(task_id, worker="w2")
    assert not TaskRecord.report_progress(task_id, 50)
    assert not TaskRecord.mark_failed(task_id, "late")
    task.refresh_from_db()
    assert task.status == Status.SUCCESS


def test_progress_only_moves_forward() -> None:
    task_id = str(new_task().task_id)
    TaskRecord.mark_started(task_id, worker="w1")
    TaskRecord.report_progress(task_id, 60)

    assert not TaskRecord.report_progress(task_id, 30)
    assert TaskRecord.objects.get(task_id=task_id).progress == 60


def test_every_change_bumps_updated_at() -> None:
    task = new_task()
    before = task.updated_at

    TaskRecord.mark_started(str(task.task_id), worker="w1")

    task.refresh_from_db()
    assert task.updated_at > before


def test_json_keeps_the_seed_keys() -> None:
    task = new_task()

    data = task.as_json()

    assert data["task_id"] == str(task.task_id)
    assert data["task_status"] == "PENDING"
    assert data["task_result"] is None


def test_a_second_start_of_the_same_attempt_is_refused() -> None:
    # Redis redelivers a running task's message when the visibility timeout passes
    # first; that copy must not run alongside the one already running.
    task_id = str(new_task().task_id)
    assert TaskRecord.mark_started(task_id, worker="w1", instance="i1")

    assert not TaskRecord.mark_started(task_id, worker="w2", instance="i2")

    task = TaskRecord.objects.get(task_id=task_id)
    assert (task.worker, task.worker_instance, task.attempts) == ("w1", "i1", 1)
    assert list(task.events.values_list("status", flat=True)) == ["STARTED"]


def test_a_submitted_task_is_stored_pending_with_its_first_event(
    django_user_model: type[User],
) -> None:
    owner = django_user_model.objects.create_user("alice")
    failed = TaskRecord.submit(Kind.FAILING, owner=owner)

    task = TaskRecord.submit(Kind.LONG, retry_of=failed, owner=owner)

    stored = TaskRecord.objects.get(pk=task.pk)
    assert stored.task_id == task.task_id
    assert (stored.kind, stored.status, stored.progress, stored.attempts) == (
        Kind.LONG,
        Status.PENDING,
        0,
        0,
    )
    assert (stored.retry_of, stored.owner) == (failed, owner)
    assert stored.submitted_at == task.submitted_at
    assert stored.result is None
    assert [(e.status, e.at, e.note) for e in stored.events.all()] == [
        (Status.PENDING, task.submitted_at, f"retry of {failed.short_id}")
    ]
