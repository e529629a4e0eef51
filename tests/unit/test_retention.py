"""Deleting finished tasks in batches (clear and retention): what goes, what stays,
exact counters, and what the three kinds of client are told."""

import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, StatusCount, TaskEvent, TaskRecord, WorkerStatus
from webapp.tasks.running import retention

pytestmark = pytest.mark.django_db


def finished(status: str = Status.SUCCESS, days_ago: float = 0, **fields: Any) -> TaskRecord:
    """A task that went through submit, start and an end, `days_ago` days ago."""
    task = TaskRecord.submit(Kind.SHORT, **fields)
    task_id = str(task.task_id)
    TaskRecord.mark_started(task_id, worker="w1")
    if status == Status.SUCCESS:
        TaskRecord.mark_succeeded(task_id, {"ok": True})
    elif status == Status.FAILURE:
        TaskRecord.mark_failed(task_id, "boom", "Traceback…")
    else:
        TaskRecord.mark_cancelled(task_id, "cancelled")
    if days_ago:
        TaskRecord.objects.filter(pk=task.pk).update(
            finished_at=timezone.now() - timedelta(days=days_ago)
        )
    task.refresh_from_db()
    return task


def running() -> TaskRecord:
    task = TaskRecord.submit(Kind.LONG)
    TaskRecord.mark_started(str(task.task_id), worker="w1")
    return task


def counts_are_exact() -> bool:
    real = {status.value: 0 for status in Status}
    for status in TaskRecord.objects.values_list("status", flat=True):
        real[status] += 1
    return StatusCount.as_dict() == real


def test_it_deletes_finished_tasks_and_their_events_in_batches() -> None:
    gone = [finished(status) for status in (Status.SUCCESS, Status.FAILURE, Status.REVOKED) * 3]
    kept = [running(), TaskRecord.submit(Kind.SHORT)]

    run = retention.delete_finished(TaskRecord.objects.all(), timezone.now(), batch_size=2)

    assert run.deleted == len(gone)
    assert run.done
    assert set(TaskRecord.objects.values_list("pk", flat=True)) == {task.pk for task in kept}
    assert not TaskEvent.objects.filter(task_id__in=[task.pk for task in gone]).exists()
    assert TaskEvent.objects.filter(task_id__in=[task.pk for task in kept]).count() == 3
    assert counts_are_exact()


def test_a_retry_of_a_deleted_task_stays_and_forgets_it() -> None:
    original = finished(Status.FAILURE, days_ago=40)
    retry = finished(Status.SUCCESS, retry_of=original)

    retention.delete_finished(TaskRecord.objects.all(), timezone.now() - timedelta(days=30))

    retry.refresh_from_db()
    assert retry.retry_of is None
    assert not TaskRecord.objects.filter(pk=original.pk).exists()
    assert counts_are_exact()


def test_tasks_finishing_after_the_click_are_not_swept() -> None:
    before = finished()
    click = timezone.now()
    after = finished()

    run = retention.delete_finished(TaskRecord.objects.all(), click)

    assert run.deleted == 1
    assert not TaskRecord.objects.filter(pk=before.pk).exists()
    assert TaskRecord.objects.filter(pk=after.pk).exists()


def test_it_stops_at_its_time_budget_and_says_how_many_are_left() -> None:
    for _ in range(5):
        finished()

    run = retention.delete_finished(
        TaskRecord.objects.all(), timezone.now(), budget_seconds=0, batch_size=2
    )

    assert (run.deleted, run.remaining, run.done) == (2, 3, False)
    assert counts_are_exact()


def test_retention_deletes_old_finished_tasks_stale_workers_and_expired_sessions(
    settings: Settings,
) -> None:
    settings.TASK_RETENTION_DAYS = 30
    old = [finished(status, days_ago=31) for status in Status if status not in (
        Status.PENDING, Status.STARTED, Status.RETRY)]  # fmt: skip
    recent = finished(days_ago=29)
    old_but_active = running()
    TaskRecord.objects.filter(pk=old_but_active.pk).update(
        submitted_at=timezone.now() - timedelta(days=90),
        started_at=timezone.now() - timedelta(days=90),
    )
    now = timezone.now()
    WorkerStatus.objects.create(hostname="gone@host", last_seen=now - timedelta(days=2))
    WorkerStatus.objects.create(hostname="quiet@host", last_seen=now - timedelta(hours=20))
    expired, live = SessionStore(), SessionStore()
    expired.set_expiry(-1)
    expired.save()
    live.save()

    report = retention.apply_retention()

    assert report.tasks == len(old)
    assert set(TaskRecord.objects.values_list("pk", flat=True)) == {recent.pk, old_but_active.pk}
    assert report.workers == 1
    assert list(WorkerStatus.objects.values_list("hostname", flat=True)) == ["quiet@host"]
    assert not SessionStore().exists(expired.session_key or "")
    assert SessionStore().exists(live.session_key or "")
    assert counts_are_exact()


def test_retention_off_keeps_every_task(settings: Settings) -> None:
    settings.TASK_RETENTION_DAYS = 0
    task = finished(days_ago=3650)

    assert retention.apply_retention().tasks == 0
    assert TaskRecord.objects.filter(pk=task.pk).exists()


@pytest.mark.parametrize(("value", "days"), [("off", 0), ("0", 0), ("7", 7), (None, 30)])
def test_task_retention_days_setting(value: str | None, days: int) -> None:
    env = {"TASK_RETENTION_DAYS": value} if value is not None else {}
    code = "from django.conf import settings as s; print(s.TASK_RETENTION_DAYS)"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "webapp.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == str(days)


def test_a_malformed_task_retention_days_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import webapp.settings"],
        env={**__import__("os").environ, "TASK_RETENTION_DAYS": "a month"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "TASK_RETENTION_DAYS" in result.stderr


# --- What "Clear finished tasks" answers ---------------------------------------------


@pytest.fixture
def unfinished_clear(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[TaskRecord]:
    """Five finished tasks, and a clear that deletes two per request."""
    settings.CLEAR_TIME_BUDGET_SECONDS = 0
    monkeypatch.setattr(retention, "BATCH_SIZE", 2)
    return [finished() for _ in range(5)]


def test_json_clear_past_its_budget_answers_202_and_how_to_go_on(
    client: Client, unfinished_clear: list[TaskRecord]
) -> None:
    first = client.post("/tasks/clear/", HTTP_ACCEPT="application/json")

    assert first.status_code == 202
    body = first.json()
    assert (body["deleted"], body["remaining"]) == (2, 3)
    assert body["message"] == "Clearing: 2 of 5 finished tasks deleted…"
    step = body["continue"]
    while step:
        answer = client.post(
            step["url"], step["body"], content_type="application/json", HTTP_ACCEPT="*/*"
        )
        step = answer.json().get("continue")
    assert answer.status_code == 200
    assert answer.json() == {"deleted": 5}
    assert not TaskRecord.objects.exists()


def test_htmx_clear_says_how_far_it_got_and_carries_on(
    client: Client, unfinished_clear: list[TaskRecord]
) -> None:
    answer = client.post("/tasks/clear/", {"confirm": "yes"}, HTTP_HX_REQUEST="true")

    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'id="task-table"' in html
    assert 'id="clear-status" role="status" hx-swap-oob="true"' in html
    assert "Clearing: 2 of 5 finished tasks deleted…" in html
    assert 'hx-trigger="load"' in html
    assert 'name="deleted" value="2"' in html


def test_plain_form_clear_shows_what_it_did(client: Client) -> None:
    for _ in range(3):
        finished()
    running()

    answer = client.post(
        "/tasks/clear/", {"confirm": "yes", "next": "/?kind=1"}, HTTP_ACCEPT="text/html"
    )

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "Deleted 3 finished tasks." in html
    assert 'href="/?kind=1"' in html
    assert 'hx-trigger="load"' not in html
    assert TaskRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"as_of": "yesterday", "deleted": 1}, "ISO 8601"),
        ({"as_of": "2026-01-01T00:00:00", "deleted": 1}, "time zone"),
        ({"as_of": "2999-01-01T00:00:00+00:00", "deleted": 1}, "future"),
        ({"as_of": "2026-01-01T00:00:00+00:00", "deleted": -4}, "negative"),
        ({"as_of": "2026-01-01T00:00:00+00:00", "deleted": True}, "whole number"),
    ],
)
def test_a_bad_continuation_is_a_400_that_says_why(
    client: Client, body: dict[str, object], message: str
) -> None:
    answer = client.post("/tasks/clear/", body, content_type="application/json")

    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_a_user_clears_only_their_own_finished_tasks(client: Client, settings: Settings) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    mine = [finished(owner=alice) for _ in range(2)]
    theirs = finished(owner=bob)
    client.force_login(alice)

    answer = client.post("/tasks/clear/", HTTP_ACCEPT="application/json")

    assert answer.json() == {"deleted": len(mine)}
    assert list(TaskRecord.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert counts_are_exact()
