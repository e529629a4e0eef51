"""audit.record and channel_of: through what a request came, and who it was."""

import json

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxDetails
from pytest_django import Settings

from webapp.tasks import tasks
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import (
    ApiToken,
    AuditAction,
    AuditChannel,
    AuditEntry,
    Schedule,
    TaskRecord,
)
from webapp.tasks.running.publishing import BrokerUnavailable
from webapp.tasks.web import audit

pytestmark = pytest.mark.django_db
factory = RequestFactory()


def request(path: str = "/tasks/", accept: str = "*/*", htmx: bool = False) -> object:
    made = factory.post(path, headers={"Accept": accept} | ({"HX-Request": "true"} if htmx else {}))
    made.htmx = HtmxDetails(made)  # type: ignore[attr-defined]
    made.user = AnonymousUser()
    return made


@pytest.mark.parametrize(
    ("path", "accept", "htmx", "channel"),
    [
        ("/tasks/", "text/html", False, AuditChannel.BROWSER),
        ("/tasks/", "text/html", True, AuditChannel.HTMX),
        ("/tasks/", "*/*", False, AuditChannel.API),
        ("/tasks/", "application/json", False, AuditChannel.API),
        ("/admin/tasks/apitoken/", "text/html", False, AuditChannel.ADMIN),
    ],
)
def test_the_channel_is_the_form_of_the_answer(
    path: str, accept: str, htmx: bool, channel: AuditChannel
) -> None:
    assert audit.channel_of(request(path, accept, htmx)) == channel  # type: ignore[arg-type]


def test_a_token_request_is_the_api_whatever_it_accepts() -> None:
    user = User.objects.create_user("tess")
    token, _ = ApiToken.issue(user, name="nightly")
    made = request(accept="text/html")
    made.user, made.auth_token = user, token  # type: ignore[attr-defined]

    entry = audit.record(made, AuditAction.LAUNCH)  # type: ignore[arg-type]

    assert entry.channel == AuditChannel.API
    assert (entry.username, entry.user_id) == ("tess", user.pk)
    assert (entry.token_id, entry.token_name) == (token.pk, "nightly")
    assert entry.who == "tess (token nightly)"


def test_no_request_is_manage_py() -> None:
    entry = audit.record(None, AuditAction.TOKEN_CREATE)

    assert entry.channel == AuditChannel.COMMAND
    assert entry.who == "manage.py"


def test_an_entry_names_its_task_by_id_and_keeps_it_when_the_task_is_gone() -> None:
    task = TaskRecord.submit(Kind.INSTANT)
    entry = audit.record(request(), AuditAction.DELETE, task=task)  # type: ignore[arg-type]
    task.delete()

    entry.refresh_from_db()

    assert entry.task_id == task.task_id
    assert entry.address == "127.0.0.1"
    assert entry.who == "anonymous"


def test_a_bulk_action_is_one_entry_in_one_call() -> None:
    entry = audit.record(
        request(),  # type: ignore[arg-type]
        AuditAction.BULK_CANCEL,
        count=250,
        matching="status=PENDING&kind=3",
        skipped={"finished": 4},
    )

    assert entry.as_json()["count"] == 250
    assert entry.details == {"matching": "status=PENDING&kind=3", "skipped": {"finished": 4}}


def test_a_long_name_tried_at_login_is_clipped() -> None:
    audit.record_failed_login(request("/accounts/login/", "text/html"), "x" * 5000)  # type: ignore[arg-type]

    entry = AuditEntry.objects.get()
    assert len(entry.details["username_tried"]) == audit.TEXT_LIMIT


# --- The entry and the change commit together ---------------------------------------------


@pytest.fixture
def entries_cannot_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(instance: object) -> None:
        raise DatabaseError("disk full")

    monkeypatch.setattr(audit, "insert", refuse)


def finished_task() -> TaskRecord:
    task = TaskRecord.submit(Kind.INSTANT)
    TaskRecord.mark_cancelled(str(task.task_id), note="cancelled")
    return task


@pytest.mark.usefixtures("entries_cannot_be_written")
def test_a_delete_whose_entry_fails_is_undone() -> None:
    task = finished_task()

    answer = Client(raise_request_exception=False).post(
        f"/tasks/{task.task_id}/delete/", headers={"Accept": "application/json"}
    )

    assert answer.status_code == 500
    assert TaskRecord.objects.filter(pk=task.pk).exists()


@pytest.mark.usefixtures("entries_cannot_be_written")
def test_a_schedule_whose_entry_fails_is_not_added() -> None:
    answer = Client(raise_request_exception=False).post(
        "/schedules/",
        json.dumps({"type": 0, "every": 1, "period": "days"}),
        content_type="application/json",
        headers={"Accept": "application/json"},
    )

    assert answer.status_code == 500
    assert not Schedule.objects.exists()


@pytest.mark.usefixtures("entries_cannot_be_written")
def test_a_token_whose_entry_fails_is_not_revoked() -> None:
    token, _ = ApiToken.issue(User.objects.create_user("rex"), name="kept")

    with pytest.raises(DatabaseError):
        call_command("revoke_token", "--user", "rex")

    token.refresh_from_db()
    assert token.revoked_at is None


def test_refused_tokens_from_one_address_are_recorded_up_to_the_login_limit(
    settings: Settings,
) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = "3/d"  # a day-long window: none ends mid-test
    for _ in range(10):
        audit.record_refused_token(request(), "tdb_" + "x" * 43, "That token is not valid.")  # type: ignore[arg-type]
    elsewhere = request()
    elsewhere.META["REMOTE_ADDR"] = "10.0.0.8"  # type: ignore[attr-defined]
    audit.record_refused_token(elsewhere, "tdb_" + "y" * 43, "That token is not valid.")  # type: ignore[arg-type]

    by_address = sorted(AuditEntry.objects.values_list("address", flat=True))
    assert by_address == ["10.0.0.8", "127.0.0.1", "127.0.0.1", "127.0.0.1"]


@pytest.mark.parametrize(
    "query",
    ["until=9999-12-31", "since=0001-01-01", "since=9999-12-31", "before=999999999999999999"],
)
def test_days_and_ids_at_the_ends_of_the_calendar_are_answered(
    query: str, settings: Settings
) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"  # ahead of UTC: midnight of 0001-01-01 is before year 1
    audit.record(request(), AuditAction.LAUNCH)  # type: ignore[arg-type]

    answer = Client(raise_request_exception=False).get(
        f"/audit/?{query}", headers={"Accept": "application/json"}
    )

    assert answer.status_code == 200


def test_a_launch_and_its_entry_are_one_commit_and_go_together_if_the_broker_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(tasks, "publish", lambda task_id, kind: sent.append(task_id))
    accepted = Client().post("/tasks/", {"type": "0"}, headers={"Accept": "application/json"})
    assert accepted.status_code == 202
    entry = AuditEntry.objects.get(action=AuditAction.LAUNCH)
    assert str(entry.task_id) == accepted.json()["task_id"] == sent[0]
    assert entry.details == {"kind": "instant"}

    def refused(task_id: str, kind: int) -> None:
        raise BrokerUnavailable("connection refused")

    monkeypatch.setattr(tasks, "publish", refused)
    answer = Client().post("/tasks/", {"type": "0"}, headers={"Accept": "application/json"})

    assert answer.status_code == 503
    assert TaskRecord.objects.count() == AuditEntry.objects.count() == 1  # the first launch's
