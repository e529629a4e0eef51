"""A task whose worker died as a whole is failed, once, by a live worker's heartbeat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.tasks.kinds import Kind
from webapp.tasks.models import Status, TaskRecord, WorkerStatus

pytestmark = pytest.mark.django_db


def running_task(instance: str, quiet_for: float = 60) -> TaskRecord:
    """A task started by worker run `instance`, silent for `quiet_for` seconds."""
    task = TaskRecord.objects.create(kind=Kind.LONG)
    TaskRecord.mark_started(str(task.task_id), worker="w1@host", instance=instance)
    TaskRecord.objects.filter(pk=task.pk).update(
        updated_at=timezone.now() - timedelta(seconds=quiet_for)
    )
    return task


def test_a_quiet_task_of_a_vanished_worker_is_failed_with_a_reason() -> None:
    task = running_task("dead")

    lost = TaskRecord.mark_lost(online_instances={"alive"})

    task.refresh_from_db()
    assert lost == [str(task.task_id)]
    assert task.status == Status.FAILURE
    assert (
        task.error == "The worker w1@host was lost while running this task; it was not run again."
    )
    assert task.finished_at
    assert task.events.last().note == "worker w1@host was lost"  # type: ignore[union-attr]


def test_a_task_of_an_online_worker_is_left_running() -> None:
    task = running_task("alive")

    assert TaskRecord.mark_lost(online_instances={"alive"}) == []
    task.refresh_from_db()
    assert task.status == Status.STARTED


def test_a_task_that_still_reports_progress_is_left_running() -> None:
    # Its worker missed heartbeats (Redis away, say) but the task itself moves.
    task = running_task("quiet-worker", quiet_for=1)

    assert TaskRecord.mark_lost(online_instances=set()) == []
    task.refresh_from_db()
    assert task.status == Status.STARTED


def test_a_redelivered_lost_task_does_not_start_again() -> None:
    task = running_task("dead")
    TaskRecord.mark_lost(online_instances=set())

    assert not TaskRecord.mark_started(str(task.task_id), worker="w2@host", instance="new")
    task.refresh_from_db()
    assert task.status == Status.FAILURE
    assert task.attempts == 1


def test_a_task_waiting_to_retry_is_lost_only_well_after_its_next_try_was_due() -> None:
    task = running_task("dead")
    task_id = str(task.task_id)
    TaskRecord.mark_retrying(task_id, "ConnectionError", retry_at=timezone.now())

    assert TaskRecord.mark_lost(online_instances=set()) == []
    TaskRecord.objects.filter(pk=task.pk).update(retry_at=timezone.now() - timedelta(minutes=5))
    assert TaskRecord.mark_lost(online_instances=set()) == [task_id]
    task.refresh_from_db()
    assert "lost before the next try" in task.error


def test_online_instances_are_those_seen_recently() -> None:
    now = timezone.now()
    WorkerStatus.objects.create(hostname="a@h", instance="a1", last_seen=now)
    WorkerStatus.objects.create(hostname="b@h", instance="b1", last_seen=now - timedelta(hours=1))

    assert WorkerStatus.online_instances() == {"a1"}
