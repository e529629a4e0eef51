"""The rollups (migration 0010) stay exact through everything that writes task rows,
and the counters and charts read them in the query's owner scope."""

from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection, models
from django.utils import timezone

from webapp.tasks.access import status_counts_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import FinishedMinute, OwnerStatusCount, Status, TaskRecord
from webapp.tasks.running import retention
from webapp.tasks.table import charts

pytestmark = pytest.mark.django_db

Key = tuple[int, datetime, int, str]  # owner (0: everyone), minute, kind, status


def rollup_from_rows() -> dict[Key, tuple[int, int, timedelta]]:
    """What FinishedMinute must hold: a GROUP BY over the task rows themselves."""
    expected: dict[Key, tuple[int, int, timedelta]] = {}
    finished = TaskRecord.objects.filter(
        status__in=(Status.SUCCESS, Status.FAILURE, Status.REVOKED), finished_at__isnull=False
    )
    for owner, finished_at, kind, status, run_time in finished.values_list(
        "owner_id", "finished_at", "kind", "status", "run_time"
    ):
        assert finished_at is not None
        minute = finished_at.replace(second=0, microsecond=0)
        kind = FinishedMinute.ELSEWHERE if kind is None else kind  # a foreign task
        for who in (FinishedMinute.EVERYONE, owner) if owner else (FinishedMinute.EVERYONE,):
            count, timed, total = expected.get((who, minute, kind, status), (0, 0, timedelta(0)))
            expected[(who, minute, kind, status)] = (
                count + 1,
                timed + (run_time is not None),
                total + (run_time or timedelta(0)),
            )
    return expected


def rollup_kept() -> dict[Key, tuple[int, int, timedelta]]:
    return {
        (owner, minute, kind, status): (count, timed, total)
        for owner, minute, kind, status, count, timed, total in FinishedMinute.objects.values_list(
            "owner_id", "minute", "kind", "status", "count", "timed", "run_time"
        )
    }


def owner_counts_kept() -> Counter[tuple[int, str]]:
    return Counter(
        {
            (owner, status): count
            for owner, status, count in OwnerStatusCount.objects.values_list(
                "owner_id", "status", "count"
            )
            if count
        }
    )


def owner_counts_from_rows() -> Counter[tuple[int, str]]:
    return Counter(TaskRecord.objects.filter(owner__isnull=False).values_list("owner_id", "status"))


def assert_exact() -> None:
    assert rollup_kept() == rollup_from_rows()
    assert owner_counts_kept() == owner_counts_from_rows()


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice")


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob")


def run(kind: Kind, end: str, owner: User | None = None) -> TaskRecord:
    task = TaskRecord.submit(kind, owner=owner)
    task_id = str(task.task_id)
    TaskRecord.mark_started(task_id, worker="w1")
    if end == Status.SUCCESS:
        TaskRecord.mark_succeeded(task_id, {"ok": True})
    elif end == Status.FAILURE:
        TaskRecord.mark_failed(task_id, "boom")
    elif end == Status.REVOKED:
        TaskRecord.mark_cancelled(task_id, "cancelled")
    task.refresh_from_db()
    return task


def test_rollups_follow_tasks_through_their_lives(alice: User, bob: User) -> None:
    queued = TaskRecord.submit(Kind.SHORT, owner=alice)
    assert_exact()
    tasks = [
        run(kind, end, owner)
        for kind in (Kind.INSTANT, Kind.SHORT)
        for end in (Status.SUCCESS, Status.FAILURE, Status.REVOKED, Status.STARTED)
        for owner in (alice, bob, None)
    ]
    assert_exact()

    TaskRecord.mark_cancelled(str(queued.task_id), "cancelled while queued")  # never ran
    TaskRecord.give_back(str(tasks[3 * 3].task_id), "worker lost")  # running, back in line
    retry = TaskRecord.submit(Kind.INSTANT, retry_of=tasks[1], owner=bob)
    TaskRecord.mark_started(str(retry.task_id), worker="w2")
    TaskRecord.mark_succeeded(str(retry.task_id), 7)
    assert_exact()
    # The task cancelled while queued never ran: counted, but not in the mean run time.
    assert FinishedMinute.objects.filter(count__gt=models.F("timed")).exists()


def test_rollups_follow_edits_deletes_clearing_and_retention(alice: User, bob: User) -> None:
    old = [run(Kind.SHORT, Status.SUCCESS, alice) for _ in range(3)]
    recent = [run(Kind.INSTANT, end, bob) for end in (Status.SUCCESS, Status.FAILURE)]
    running = run(Kind.LONG, Status.STARTED, alice)
    # An edit as the admin or a script might make it: a finish time moved, a kind and
    # an owner changed, a finished task put back to running.
    TaskRecord.objects.filter(pk__in=[t.pk for t in old]).update(
        finished_at=timezone.now() - timedelta(days=40)
    )
    TaskRecord.objects.filter(pk=recent[0].pk).update(kind=Kind.MEDIUM, owner=alice)
    TaskRecord.objects.filter(pk=recent[1].pk).update(status=Status.STARTED)
    TaskRecord.objects.filter(pk=recent[1].pk).update(status=Status.FAILURE)
    assert_exact()

    retention.delete_finished(TaskRecord.objects.all(), timezone.now() - timedelta(days=30))
    assert not TaskRecord.objects.filter(pk__in=[t.pk for t in old]).exists()
    assert_exact()

    bob.delete()  # his tasks lose their owner (SET NULL): an UPDATE of owner_id
    assert_exact()

    retention.delete_finished(TaskRecord.objects.filter(owner=alice), timezone.now())
    TaskRecord.objects.filter(pk=running.pk).delete()
    assert_exact()

    TaskRecord.objects.all().delete()
    assert_exact()
    assert not FinishedMinute.objects.exists()  # minutes that fall to zero go


def test_counters_and_charts_read_the_query_owners_rollup(alice: User, bob: User) -> None:
    for _ in range(2):
        run(Kind.SHORT, Status.SUCCESS, alice)
    run(Kind.INSTANT, Status.FAILURE, bob)
    run(Kind.INSTANT, Status.SUCCESS, None)
    TaskRecord.submit(Kind.SHORT, owner=alice)

    assert status_counts_of(alice.pk)[Status.SUCCESS] == 2
    assert status_counts_of(alice.pk)[Status.PENDING] == 1
    assert status_counts_of(bob.pk)[Status.FAILURE] == 1
    assert sum(status_counts_of(None).values()) == 5

    assert charts.throughput(alice.pk).totals == {"succeeded": 2}
    assert charts.throughput(bob.pk).totals == {"failed": 1}
    assert charts.throughput(None).totals == {"succeeded": 3, "failed": 1}
    times = charts.run_time_per_kind(alice.pk)
    assert [(row.label, row.count) for row in times.rows] == [("short", 2)]
    assert [row.count for row in charts.run_time_per_kind(None).rows] == [1, 2]


def test_the_mean_run_time_is_the_rows_mean(alice: User) -> None:
    tasks = [run(Kind.SHORT, Status.SUCCESS, alice) for _ in range(3)]
    seconds = [1.5, 2.0, 4.0]
    for task, run_seconds in zip(tasks, seconds, strict=True):
        TaskRecord.objects.filter(pk=task.pk).update(run_time=timedelta(seconds=run_seconds))

    (row,) = charts.run_time_per_kind(alice.pk).rows
    assert row.mean == pytest.approx(sum(seconds) / 3)


def test_tasks_finished_before_the_hour_are_not_charted(alice: User) -> None:
    task = run(Kind.SHORT, Status.SUCCESS, alice)
    TaskRecord.objects.filter(pk=task.pk).update(finished_at=timezone.now() - timedelta(hours=2))

    assert charts.throughput(alice.pk).totals == {}
    assert charts.run_time_per_kind(alice.pk).rows == []


def test_every_counting_trigger_survives_the_migrations() -> None:
    # A migration that rebuilds tasks_taskrecord on SQLite (an AddField with a
    # default, 0005) drops its triggers silently: each must be recreated after it.
    if connection.vendor == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        expected = {"task_count_insert", "task_count_delete", "task_count_update"}
        expected |= {"task_rollup_insert", "task_rollup_delete", "task_rollup_update"}
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        expected = {"task_count_insert_delete", "task_count_update"}
        expected |= {"task_rollup_insert_delete", "task_rollup_update"}
    with connection.cursor() as cursor:
        cursor.execute(query)
        assert expected <= {name for (name,) in cursor.fetchall()}
