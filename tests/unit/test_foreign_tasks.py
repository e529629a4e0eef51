"""Tasks published outside the dashboard (running/seen.py): one record per task id, counted
by the triggers like ours, never sent again by the dashboard, shown to staff only."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.unit.test_rollups import assert_exact
from tests.unit.test_table_poll import HTMX, version_in
from webapp.tasks.access import status_counts_of, tasks_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.table import charts, query

pytestmark = pytest.mark.django_db


def foreign(name: str = "demo.add", *args: object, **kwargs: object) -> str:
    task_id = str(uuid.uuid4())
    assert TaskRecord.seen(task_id, name, list(args), kwargs, note="published elsewhere")
    return task_id


def test_a_foreign_task_is_recorded_once_with_its_name_and_arguments() -> None:
    task_id = foreign("demo.add", 2, 3, label="x")

    assert not TaskRecord.seen(task_id, "demo.add", [2, 3], {}, note="received")
    record = TaskRecord.objects.get(task_id=task_id)
    assert (record.kind, record.name, record.owner) == (None, "demo.add", None)
    assert record.as_json()["name"] == "demo.add"
    assert record.as_json()["args"] == [2, 3]
    assert record.as_json()["kwargs"] == {"label": "x"}
    assert record.as_json()["params"] is None
    assert [e.status for e in record.events.all()] == [Status.PENDING]


def test_our_own_task_is_never_recorded_a_second_time() -> None:
    ours = TaskRecord.submit(Kind.INSTANT)

    assert not TaskRecord.seen(str(ours.task_id), "tasks.run", [0], {}, note="received")
    assert TaskRecord.objects.count() == 1
    assert TaskRecord.objects.get().as_json()["name"] == "tasks.run"


def test_foreign_tasks_are_counted_by_status_and_in_the_charts() -> None:
    ids = [foreign() for _ in range(4)]
    for task_id in ids[:3]:
        TaskRecord.mark_started(task_id, worker="w1")
    TaskRecord.mark_succeeded(ids[0], 5)
    TaskRecord.mark_failed(ids[1], "ValueError: boom")
    TaskRecord.mark_cancelled(ids[3], "revoked outside the dashboard")
    assert_exact()

    counts = status_counts_of(None)
    assert (counts[Status.SUCCESS], counts[Status.FAILURE], counts[Status.STARTED]) == (1, 1, 1)
    assert counts[Status.REVOKED] == 1
    assert charts.throughput(None).totals == {"succeeded": 1, "failed": 1, "cancelled": 1}
    assert [row.label for row in charts.run_time_per_kind(None).rows] == ["other"]

    TaskRecord.objects.filter(task_id__in=ids).delete()
    assert_exact()
    assert sum(status_counts_of(None).values()) == 0


def test_a_foreign_task_whose_worker_was_lost_fails_and_is_not_sent_again() -> None:
    task_id = foreign()
    TaskRecord.mark_started(task_id, worker="w1", instance="gone")
    # Quiet for longer than a live worker would stay (its worker no longer reports).
    TaskRecord.objects.filter(task_id=task_id).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )

    assert TaskRecord.mark_lost(online_instances=set()) == []
    record = TaskRecord.objects.get(task_id=task_id)
    assert record.status == Status.FAILURE
    assert "published elsewhere (demo.add)" in record.error
    assert not record.can_retry


def test_only_those_who_see_everyone_see_foreign_tasks() -> None:
    alice = User.objects.create_user("alice", password="alice-secret-pw")
    foreign()
    TaskRecord.submit(Kind.INSTANT, owner=alice)

    assert tasks_of(alice.pk).count() == 1
    assert not tasks_of(alice.pk).filter(kind__isnull=True).exists()
    assert tasks_of(None).filter(kind__isnull=True).count() == 1


def test_the_table_summarises_arguments_and_the_page_shows_them_whole(client: Client) -> None:
    long_text = "spam " * 40
    task_id = foreign("demo.echo", long_text, 7, flag=True)

    table = client.get("/", headers={"Accept": "text/html"}).content.decode()
    detail = client.get(f"/tasks/{task_id}/", headers={"Accept": "text/html"}).content.decode()

    assert "demo.echo" in table
    assert "…" in table  # elided, and saying so
    assert long_text.strip() in detail  # whole, in a fold
    assert f"{len(long_text)} characters: show all" in detail
    assert "<dt>flag</dt>" in detail


def test_the_unchanged_poll_is_still_one_query_with_foreign_tasks(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query, "WORKER_CHECK_SECONDS", 10**9)
    for number in range(30):
        TaskRecord.mark_succeeded(foreign("demo.add", number, 1), number + 1)
    TaskRecord.submit(Kind.INSTANT)
    version = version_in(client.get("/tasks/", headers=HTMX).content)

    with CaptureQueriesContext(connection) as queries:
        poll = client.get(f"/tasks/?since={version}", headers=HTMX)

    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert poll.status_code == 204


def test_the_kind_filter_picks_foreign_tasks_as_other(client: Client) -> None:
    task_id = foreign("demo.add", 1, 2)
    ours = TaskRecord.submit(Kind.INSTANT)

    def listed(query: str) -> list[str]:
        return [t["task_id"] for t in client.get(f"/tasks/?{query}").json()["tasks"]]

    assert listed("kind=other") == [task_id]
    assert listed("kind=0") == [str(ours.task_id)]
    assert client.get("/tasks/?kind=other").json()["matching"] == 1
    page = client.get("/?kind=other", headers={"Accept": "text/html"}).content.decode()
    assert '<option value="other" selected>' in page


def test_a_failed_foreign_task_is_not_retried_by_the_dashboard(client: Client) -> None:
    task_id = foreign("demo.fail", "boom")
    TaskRecord.mark_started(task_id, worker="w1")
    TaskRecord.mark_failed(task_id, "ValueError: boom")

    response = client.post(f"/tasks/{task_id}/retry/")

    assert response.status_code == 409
    assert "published outside the dashboard" in response.json()["error"]
    assert TaskRecord.objects.count() == 1
