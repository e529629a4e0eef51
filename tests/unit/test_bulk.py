"""Bulk actions (README "Bulk actions"): reading a selection, the batches a job runs
on records in the test database (the broker left out), owner scope, and memory that
does not grow with the selection."""

import json
import re
import time
import tracemalloc
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from pytest_django import Settings

from bench.fill import fill_recent
from webapp.celery import app
from webapp.tasks import tasks
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import AuditAction, AuditEntry, BulkJob, Status, TaskRecord
from webapp.tasks.running import bulk

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Runs are called here directly; revokes are only noted."""
    revoked: list[list[str]] = []
    monkeypatch.setattr(bulk, "queue_run", lambda job_id: None)
    monkeypatch.setattr(app.control, "revoke", lambda ids, **kwargs: revoked.append(list(ids)))
    return revoked


def post(client: Client, body: dict[str, Any], **headers: str) -> Any:
    return client.post(
        "/tasks/bulk/", json.dumps(body), content_type="application/json", headers=JSON | headers
    )


def pending(count: int, owner: User | None = None, kind: Kind = Kind.LONG) -> list[TaskRecord]:
    return [TaskRecord.submit(kind, owner=owner) for _ in range(count)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"action": "explode", "ids": []}, "`action` must be one of cancel, retry, delete"),
        ({"ids": ["x"]}, "The field `action` is missing"),
        ({"action": "cancel"}, "Say which tasks"),
        ({"action": "cancel", "ids": []}, "`ids` is empty"),
        ({"action": "cancel", "ids": "abc"}, "`ids` must be a list"),
        ({"action": "cancel", "ids": ["not-a-uuid"]}, "'not-a-uuid' in `ids` is not a task id"),
        ({"action": "cancel", "ids": [1]}, "`ids` must be a list of task ids"),
        ({"action": "retry", "filter": {"status": "BORED"}}, "Bad filter: status must be one of"),
        ({"action": "retry", "filter": {"colour": "red"}}, "not 'colour'"),
        ({"action": "retry", "filter": "status=FAILURE"}, "`filter` must be an object"),
        ({"action": "retry", "filter": {}, "ids": []}, "not both"),
        ({"action": "retry", "filter": {}, "when": 1}, "Unknown field `when`"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(body: dict[str, Any], message: str) -> None:
    response = post(Client(), body)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not BulkJob.objects.exists()


def test_too_many_ids_are_refused_pointing_at_a_filter() -> None:
    ids = [str(record.task_id) for record in pending(bulk.MAX_IDS + 1, kind=Kind.INSTANT)]
    response = post(Client(), {"action": "cancel", "ids": ids})
    assert response.status_code == 400
    assert response.json()["error"] == (
        f"Too many ids: send at most {bulk.MAX_IDS} per request, or select the tasks by a filter."
    )


def test_cancel_by_ids_answers_202_with_the_job_and_runs_in_batches(
    no_broker: list[list[str]], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    waiting = pending(3)
    done = pending(1)[0]
    TaskRecord.mark_cancelled(str(done.task_id), note="earlier")
    ids = [str(r.task_id) for r in [*waiting, done]] + ["00000000-0000-4000-8000-000000000000"]

    response = post(Client(), {"action": "cancel", "ids": ids})

    assert response.status_code == 202, response.content
    job = BulkJob.objects.get()
    assert response["Location"] == f"/tasks/bulk/{job.pk}/"
    assert response.json()["state"] == "queued"
    bulk.run(job.pk, slice_seconds=None)
    answer = Client().get(job.url, headers=JSON).json()
    assert (answer["state"], answer["total"], answer["done"], answer["skipped"]) == (
        "done",
        5,
        3,
        2,
    )
    assert answer["skipped_reasons"] == {"already finished": 1, "not found": 1}
    assert answer["message"] == (
        "Cancelled 3 of 5 tasks. 2 skipped: 1 already finished, 1 not found."
    )
    assert set(TaskRecord.objects.values_list("status", flat=True)) == {Status.REVOKED}
    assert sorted(task_id for batch in no_broker for task_id in batch) == sorted(
        str(r.task_id) for r in waiting
    )


def test_a_filter_covers_the_tasks_matching_when_confirmed_and_not_later_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failed = pending(4, kind=Kind.INSTANT)
    for record in failed:
        TaskRecord.mark_failed(str(record.task_id), "boom")
    pending(2, kind=Kind.SHORT)  # not failed: not selected

    response = post(Client(), {"action": "retry", "filter": {"status": "FAILURE"}})
    assert response.status_code == 202, response.content
    later = pending(1, kind=Kind.INSTANT)[0]
    TaskRecord.mark_failed(str(later.task_id), "after the click")
    job = BulkJob.objects.get()
    assert (job.total, job.filter) == (4, "status=FAILURE")

    launched: list[str] = []
    monkeypatch.setattr(tasks, "publish", lambda task_id, kind: launched.append(task_id))
    bulk.run(job.pk, slice_seconds=None)
    job.refresh_from_db()
    assert (job.state, job.done, job.skipped) == ("done", 4, 0)
    retries = TaskRecord.objects.filter(retry_of__isnull=False)
    retried = set(retries.values_list("retry_of", flat=True))
    assert retried == {record.pk for record in failed}
    assert len(launched) == 4


def test_nobody_acts_on_tasks_they_cannot_see(settings: Settings) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    alice = User.objects.create_user("alice-bulk")
    bob = User.objects.create_user("bob-bulk")
    hers = pending(3, owner=alice)
    his = pending(1, owner=bob)
    client = Client()
    client.force_login(bob)

    by_filter = post(client, {"action": "cancel", "filter": {}})
    by_ids = post(client, {"action": "cancel", "ids": [str(r.task_id) for r in hers]})
    for response in (by_filter, by_ids):
        assert response.status_code == 202, response.content
        bulk.run(response.json()["id"], slice_seconds=None)

    assert BulkJob.objects.get(pk=by_filter.json()["id"]).done == 1
    assert BulkJob.objects.get(pk=by_ids.json()["id"]).reasons == {"not found": 3}
    assert set(TaskRecord.objects.filter(owner=alice).values_list("status", flat=True)) == {
        Status.PENDING
    }
    assert TaskRecord.objects.get(pk=his[0].pk).status == Status.REVOKED
    alices = Client()
    alices.force_login(alice)
    assert alices.get(by_filter.json()["url"], headers=JSON).status_code == 404


def test_a_plain_form_confirms_the_count_then_redirects_to_the_progress() -> None:
    ids = [str(r.task_id) for r in pending(2)]
    client = Client()
    page = {"Accept": "text/html"}

    asked = client.post("/tasks/bulk/", {"action": "cancel", "ids": ids}, headers=page)

    assert asked.status_code == 200
    assert "Cancel 2 tasks?" in asked.text
    assert not BulkJob.objects.exists()
    confirmed = client.post(
        "/tasks/bulk/",
        {"action": "cancel", "ids": ",".join(ids), "confirm": "yes"},
        headers=page,
    )
    job = BulkJob.objects.get()
    assert confirmed.status_code == 303
    assert confirmed["Location"] == job.url
    bulk.run(job.pk, slice_seconds=None)
    progress = client.get(job.url, headers=page)
    assert "Cancelled 2 of 2 tasks." in progress.text


SQLITE_FILL = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="fills through sqlite3 (bench.fill)"
)


@SQLITE_FILL
def test_select_all_matching_confirms_the_filters_exact_count() -> None:
    fill_recent(connection.connection, 30)  # a third of them failed
    response = Client().post(
        "/tasks/bulk/",
        {"action": "delete", "scope": "filter", "filter": "status=FAILURE&kind="},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Delete 10 tasks matching the filter?" in response.text
    assert 'name="filter" value="status=FAILURE"' in response.text


def memory_peak_of_deleting(count: int) -> int:
    fill_recent(connection.connection, count)
    job = bulk.start(bulk.Selection("delete", filter=""), None, None)
    tracemalloc.start()
    try:
        bulk.run(job.pk, slice_seconds=None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    job.refresh_from_db()
    assert (job.state, job.done) == ("done", count)
    return peak


@SQLITE_FILL
def test_memory_does_not_grow_with_the_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "PAUSE_SECONDS", 0)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    small = memory_peak_of_deleting(1_000)
    large = memory_peak_of_deleting(10_000)
    assert large < small * 1.5, (small, large)


def test_the_poll_brings_the_readers_progress_outside_the_shared_fragment() -> None:
    from webapp.tasks.table import live

    htmx = {"HX-Request": "true"}
    ids = [str(r.task_id) for r in pending(2)]
    job_id = post(Client(), {"action": "cancel", "ids": ids}).json()["id"]
    client = Client()
    first = client.get("/tasks/", headers=htmx).content.decode()
    version = first.split("since=")[1].split('"')[0].split("&")[0]

    unchanged = client.get(f"/tasks/?since={version}", headers=htmx)
    following = client.get(f"/tasks/?since={version}&bulk={job_id}", headers=htmx)

    assert unchanged.status_code == 204
    assert following.status_code == 200  # the table did not change; the job is news
    answer = following.content.decode()
    assert 'id="bulk-status" class="bulk-status" role="status" hx-swap-oob="true"' in answer
    assert "Cancelling 2 tasks: waiting for a worker…" in answer
    assert f'name="bulk" value="{job_id}"' in answer
    shared = [entry["html"] for entry in live._kept_entries.values() if isinstance(entry, dict)]
    assert shared
    ticked = re.compile(r"<input[^>]*\bchecked\b")
    assert all("bulk-progress" not in html and not ticked.search(html) for html in shared)

    bulk.run(job_id, slice_seconds=None)
    done = client.get(f"/tasks/?since={version}&bulk={job_id}", headers=htmx).content.decode()
    assert "Cancelled 2 of 2 tasks." in done
    assert 'name="bulk"' not in done  # the next poll stops asking


def test_another_reader_does_not_get_someone_elses_progress(settings: Settings) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    alice = User.objects.create_user("alice-poll")
    bob = User.objects.create_user("bob-poll")
    pending(1, owner=alice)
    mine = Client()
    mine.force_login(alice)
    job_id = post(mine, {"action": "cancel", "filter": {}}).json()["id"]
    theirs = Client()
    theirs.force_login(bob)

    answer = theirs.get(f"/tasks/?since=old&bulk={job_id}", headers={"HX-Request": "true"})

    assert answer.status_code == 200
    assert "bulk-status" not in answer.content.decode()


def test_a_bulk_action_is_in_the_audit_trail_with_its_count_and_filter() -> None:
    pending(3)
    response = post(Client(), {"action": "cancel", "filter": {"status": "PENDING"}})

    assert response.status_code == 202, response.content
    entry = AuditEntry.objects.get(action=AuditAction.BULK_CANCEL)
    job = BulkJob.objects.get()
    assert (entry.count, entry.channel) == (3, "api")
    assert entry.details["bulk_job"] == job.pk
    assert entry.details["filter"] == "status=PENDING"


def test_a_job_delivered_again_after_its_worker_died_goes_on_from_its_cursor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    ids = [str(record.task_id) for record in pending(5)]
    assert post(Client(), {"action": "cancel", "ids": ids}).status_code == 202
    job = BulkJob.objects.get()

    # The first delivery got one batch done, then its worker was killed (no code runs
    # at a SIGKILL); with acks_late the message goes to the next worker, which runs it.
    assert bulk.run_batch(BulkJob.objects.get(pk=job.pk))
    bulk.run(job.pk, slice_seconds=None)

    answer = Client().get(job.url, headers=JSON).json()
    assert (answer["state"], answer["done"], answer["skipped"]) == ("done", 5, 0)
    assert set(TaskRecord.objects.values_list("status", flat=True)) == {Status.REVOKED}
