"""The sweep that sends again the PENDING tasks whose message never reached Redis."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from conftest import wait_for
from webapp.celery import app as celery_app
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.running import publishing

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Task ids published (nothing reaches a broker); markers are written as usual."""
    cache.clear()
    ids: list[str] = []

    def send_task(name: str, args: tuple[int], task_id: str, **options: object) -> None:
        ids.append(task_id)

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return ids


def queued(count: int, published: bool = True, age: float = 60) -> list[str]:
    ids = []
    for _ in range(count):
        record = TaskRecord.submit(Kind.SHORT)
        TaskRecord.objects.filter(pk=record.pk).update(
            submitted_at=timezone.now() - timedelta(seconds=age)
        )
        if published:
            cache.set(publishing.marker(str(record.task_id)), 1)
        ids.append(str(record.task_id))
    return ids


def sweep_now() -> list[str]:
    cache.delete(publishing.SWEEP_LOCK)
    return publishing.requeue_orphans()


def test_only_the_pending_task_without_a_published_message_is_sent_again(
    sent: list[str],
) -> None:
    queued(3)
    [orphan] = queued(1, published=False)
    queued(2)

    assert sweep_now() == [orphan]

    assert sent == [orphan]
    record = TaskRecord.objects.get(task_id=orphan)
    assert record.status == Status.PENDING
    assert record.events.last().note == (  # type: ignore[union-attr]
        "its message never reached the queue; sent again"
    )


def test_a_task_younger_than_the_grace_period_is_left_alone(sent: list[str]) -> None:
    queued(1, published=False, age=0)

    assert sweep_now() == []
    assert sent == []


def test_a_row_once_checked_is_not_read_again(
    sent: list[str], django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    queued(500)
    sweep_now()
    newest = TaskRecord.objects.order_by("-id").values_list("id", flat=True).first()
    assert cache.get(publishing.SWEEP_CHECKED_UP_TO) == newest
    [orphan] = queued(1, published=False)

    # However many tasks wait, a sweep reads the rows submitted since the last one.
    with django_assert_max_num_queries(6):
        assert sweep_now() == [orphan]
    assert sweep_now() == []


def test_workers_sweep_one_at_a_time_and_not_more_often_than_the_throttle(
    sent: list[str],
) -> None:
    queued(1, published=False)

    assert len(publishing.requeue_orphans()) == 1
    queued(1, published=False)
    assert publishing.requeue_orphans() == []  # within SWEEP_EVERY_SECONDS


class CountedWrites:
    """The cache, counting the calls that write to it."""

    def __init__(self) -> None:
        self.writes = 0

    def set(self, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        return cache.set(*args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        return cache.set_many(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(cache, name)


def test_the_markers_of_many_publishes_are_written_together(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One Redis round trip per submit was a third of the submit's calls to Redis.
    counted = CountedWrites()
    monkeypatch.setattr(publishing, "cache", counted)
    ids = [str(uuid.uuid4()) for _ in range(20)]

    for task_id in ids:
        publishing.publish(task_id, int(Kind.INSTANT))

    def all_marked() -> bool:
        return len(cache.get_many([publishing.marker(task_id) for task_id in ids])) == len(ids)

    wait_for(all_marked, 10, "the markers of 20 published tasks")
    assert counted.writes < len(ids) / 2


def test_a_foreign_task_waiting_without_a_marker_is_never_sent_as_ours(sent: list[str]) -> None:
    # Published elsewhere (running/seen.py): no marker of ours, and not ours to send.
    foreign_id = "0b6f0d6e-8f7c-4c1e-9d55-3a1d2c9e7f01"
    TaskRecord.seen(foreign_id, "demo.add", [1, 2], {}, note="published elsewhere")
    TaskRecord.objects.filter(task_id=foreign_id).update(
        submitted_at=timezone.now() - timedelta(seconds=60)
    )
    [orphan] = queued(1, published=False)

    assert sweep_now() == [orphan]
    assert sent == [orphan]
