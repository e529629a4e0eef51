"""Later runs: each due task is claimed and published once, however many publishers
run; what a scheduled task counts as; and what the poll costs with some scheduled."""

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from webapp.tasks.access import status_counts_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, StatusCount, TaskRecord
from webapp.tasks.running import scheduling
from webapp.tasks.running.publishing import BrokerUnavailable
from webapp.tasks.table import query

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def schedule(seconds: float, owner: Any = None) -> TaskRecord:
    return TaskRecord.submit(
        Kind.INSTANT, owner=owner, run_at=timezone.now() + timedelta(seconds=seconds)
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The messages the publishers send, instead of Redis."""
    messages: list[str] = []
    monkeypatch.setattr(scheduling, "publish", lambda task_id, kind: messages.append(task_id))
    return messages


def test_two_publishers_that_see_the_same_due_tasks_publish_each_once(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    due = [schedule(-1) for _ in range(3)]
    later = schedule(3600)
    read_due = TaskRecord.due
    now = timezone.now()

    def read_then_the_other_publisher_runs(
        cls: type[TaskRecord], when: datetime, limit: int = 100
    ) -> list[tuple[str, int, datetime]]:
        # Publisher A has read the due tasks; before it claims any, publisher B
        # reads the same ones and publishes them all.
        rows = read_due(when, limit)
        monkeypatch.setattr(TaskRecord, "due", classmethod(lambda cls, w, limit=100: read_due(w)))
        by_b = scheduling.publish_due(when)
        assert sorted(by_b) == sorted(str(t.task_id) for t in due)
        return rows

    monkeypatch.setattr(TaskRecord, "due", classmethod(read_then_the_other_publisher_runs))

    by_a = scheduling.publish_due(now)

    assert by_a == []
    assert sorted(sent) == sorted(str(t.task_id) for t in due)  # once each
    for task in due:
        task.refresh_from_db()
        assert task.status == Status.PENDING
        assert [e.status for e in task.events.all()] == [Status.SCHEDULED, Status.PENDING]
    later.refresh_from_db()
    assert later.status == Status.SCHEDULED


def test_a_claim_is_won_once(sent: list[str]) -> None:
    task = schedule(-1)

    first = TaskRecord.mark_due(str(task.task_id), task.run_at)
    second = TaskRecord.mark_due(str(task.task_id), task.run_at)

    assert (first, second) == (True, False)


def test_run_now_and_the_publisher_publish_it_once(sent: list[str]) -> None:
    task = schedule(-1)

    assert scheduling.run_now(task) is True
    assert scheduling.publish_due() == []

    assert sent == [str(task.task_id)]


def test_a_task_the_broker_would_not_take_stays_due_for_the_next_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = schedule(-1)

    def broker_down(task_id: str, kind: int) -> None:
        raise BrokerUnavailable("connection refused")

    monkeypatch.setattr(scheduling, "publish", broker_down)
    assert scheduling.publish_due() == []
    task.refresh_from_db()
    assert task.status == Status.SCHEDULED
    assert "not queued" in task.events.last().note  # type: ignore[union-attr]

    monkeypatch.setattr(scheduling, "publish", lambda task_id, kind: None)
    assert scheduling.publish_due() == [str(task.task_id)]


def test_a_task_published_late_says_so_in_its_timeline(sent: list[str]) -> None:
    task = schedule(-30)

    scheduling.publish_due()

    note = task.events.get(status=Status.PENDING).note
    assert re.search(r"published 3\d\.\d s late", note), note


def test_a_task_published_on_time_does_not_say_late(sent: list[str]) -> None:
    task = schedule(-0.1)

    scheduling.publish_due()

    assert "late" not in task.events.get(status=Status.PENDING).note


def test_nothing_due_is_one_indexed_query(sent: list[str]) -> None:
    for _ in range(20):
        schedule(3600)

    with CaptureQueriesContext(connection) as queries:
        scheduling.publish_due()

    assert len(queries) == 1
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {queries.captured_queries[0]['sql']}")
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "task_due_idx" in plan, plan
    assert sent == []


def test_scheduled_tasks_have_their_own_count_for_everyone_and_their_owner() -> None:
    alice = User.objects.create_user("alice")
    tasks = [schedule(60, owner=alice), schedule(60, owner=alice), schedule(60)]

    TaskRecord.mark_due(str(tasks[0].task_id), tasks[0].run_at)
    TaskRecord.mark_cancelled(str(tasks[1].task_id), note="cancelled before its time")

    assert StatusCount.as_dict()[Status.SCHEDULED] == 1
    assert status_counts_of(alice.pk)[Status.SCHEDULED] == 0
    assert status_counts_of(alice.pk)[Status.PENDING] == 1
    assert status_counts_of(alice.pk)[Status.REVOKED] == 1
    assert StatusCount.as_dict() == {
        status.value: TaskRecord.objects.filter(status=status).count() for status in Status
    }


def test_the_unchanged_poll_is_still_one_query_with_tasks_scheduled(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query, "WORKER_CHECK_SECONDS", 10**9)
    for seconds in (30, 600, 86400):
        schedule(seconds)
    fragment = client.get("/tasks/", headers=HTMX).content
    version = re.search(rb"since=([0-9a-f]+)", fragment)
    assert version

    with CaptureQueriesContext(connection) as queries:
        poll = client.get(f"/tasks/?since={version[1].decode()}", headers=HTMX)

    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert poll.status_code == 204
    # Something will happen: the table keeps polling at the active pace.
    assert b"every 1s" in fragment or b"every 1.0s" in fragment, fragment[:400]


def test_a_task_claimed_by_a_publisher_that_died_before_sending_is_sent_on_start(
    sent: list[str],
) -> None:
    claimed = schedule(-1)
    TaskRecord.mark_due(str(claimed.task_id), claimed.run_at)  # ... and then it died
    not_yet = schedule(60)

    assert scheduling.publish_claimed() == [str(claimed.task_id)]

    assert sent == [str(claimed.task_id)]
    assert "sent" in claimed.events.last().note  # type: ignore[union-attr]
    not_yet.refresh_from_db()
    assert not_yet.status == Status.SCHEDULED
