"""A task whose worker died as a whole is taken back, once, by a live worker's heartbeat:
queued again if its kind is safe to repeat, failed with the reason if not."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord, WorkerStatus

pytestmark = pytest.mark.django_db


def running_task(instance: str, quiet_for: float = 60, kind: Kind = Kind.LONG) -> TaskRecord:
    """A task started by worker run `instance`, silent for `quiet_for` seconds."""
    task = TaskRecord.objects.create(kind=kind)
    TaskRecord.mark_started(str(task.task_id), worker="w1@host", instance=instance)
    TaskRecord.objects.filter(pk=task.pk).update(
        updated_at=timezone.now() - timedelta(seconds=quiet_for)
    )
    return task


def test_a_quiet_task_of_a_vanished_worker_goes_back_to_the_queue() -> None:
    task = running_task("dead")

    lost = TaskRecord.mark_lost(online_instances={"alive"})

    task.refresh_from_db()
    assert lost == [(str(task.task_id), Kind.LONG, 0)]
    assert task.status == Status.PENDING
    assert task.progress == 0
    assert not task.error
    assert not task.finished_at
    assert task.events.last().note == (  # type: ignore[union-attr]
        "worker w1@host was lost while running this task; will run again"
    )
    # The message sent again starts it, as a second attempt.
    assert TaskRecord.mark_started(str(task.task_id), worker="w2@host", instance="new")
    task.refresh_from_db()
    assert task.attempts == 2
    assert list(task.events.values_list("status", flat=True)) == ["STARTED", "PENDING", "STARTED"]


def test_a_quiet_task_not_safe_to_repeat_of_a_vanished_worker_fails_with_the_reason() -> None:
    task = running_task("dead", kind=Kind.NOTIFY)

    assert TaskRecord.mark_lost(online_instances={"alive"}) == []

    task.refresh_from_db()
    assert task.status == Status.FAILURE
    assert task.error == (
        "Worker w1@host was lost while running this task; it was not run again: "
        "a notify task is not safe to repeat. Retry it if it should run."
    )
    assert task.finished_at
    assert task.can_retry


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


def test_a_redelivered_message_of_a_lost_task_does_not_start_it_twice() -> None:
    task = running_task("dead")
    task_id = str(task.task_id)
    TaskRecord.mark_lost(online_instances=set())
    assert TaskRecord.mark_started(task_id, worker="w2@host", instance="new")

    # Redis hands out the dead worker's copy after the visibility timeout.
    assert not TaskRecord.mark_started(task_id, worker="w3@host", instance="other")
    task.refresh_from_db()
    assert (task.status, task.worker_instance, task.attempts) == (Status.STARTED, "new", 2)


def test_a_task_waiting_to_retry_is_lost_only_well_after_its_next_try_was_due() -> None:
    task = running_task("dead")
    task_id = str(task.task_id)
    TaskRecord.mark_retrying(task_id, "ConnectionError", retry_at=timezone.now())

    assert TaskRecord.mark_lost(online_instances=set()) == []
    TaskRecord.objects.filter(pk=task.pk).update(retry_at=timezone.now() - timedelta(minutes=5))
    assert TaskRecord.mark_lost(online_instances=set()) == [(task_id, Kind.LONG, 1)]
    task.refresh_from_db()
    assert task.status == Status.PENDING
    assert "lost before the next try" in task.events.last().note  # type: ignore[union-attr]


def test_online_instances_are_those_seen_recently() -> None:
    now = timezone.now()
    WorkerStatus.objects.create(hostname="a@h", instance="a1", last_seen=now)
    WorkerStatus.objects.create(hostname="b@h", instance="b1", last_seen=now - timedelta(hours=1))

    assert WorkerStatus.online_instances() == {"a1"}
