"""A task's JSON: a fixed few queries, and a finished task's answer read again from
memory only while the database says nothing changed, and only by the owner scope
that read it (issue 11: a task's JSON at least as fast as the seed's status read)."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import TaskRecord
from webapp.tasks.table import query

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="only SQLite says cheaply that nothing changed"
    ),
]
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def no_worker_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # The change stamp also moves every few seconds (worker liveness), which would
    # make a read between two others miss now and then; not what these check.
    monkeypatch.setattr(query, "WORKER_CHECK_SECONDS", 10**9)


def finished_task(owner: User | None = None) -> TaskRecord:
    task = TaskRecord.submit(Kind.INSTANT, owner=owner)
    TaskRecord.mark_started(str(task.task_id), worker="w1")
    TaskRecord.mark_succeeded(str(task.task_id), {"slept_seconds": 0.0})
    return task


def read(client: Client, task: TaskRecord) -> tuple[int, dict[str, object], int]:
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(task.url, headers=JSON)
    return answer.status_code, answer.json(), len(queries)


def test_a_finished_tasks_json_is_read_again_with_one_query_while_nothing_changed(
    client: Client,
) -> None:
    task = finished_task()
    status, first, queries_first = read(client, task)

    again_status, again, queries_again = read(client, task)

    assert status == again_status == 200
    assert again == first
    assert first["task_status"] == "SUCCESS"
    # The change stamp, the record (with its retries) and its timeline; then the
    # stamp alone.
    assert (queries_first, queries_again) == (3, 1)


def test_any_change_is_seen_by_the_next_read(client: Client) -> None:
    task = finished_task()
    read(client, task)

    retry = TaskRecord.submit(Kind.INSTANT, retry_of=task)
    _, with_retry, _ = read(client, task)
    TaskRecord.objects.filter(pk=task.pk).delete()
    gone, _, _ = read(client, task)

    assert with_retry["retries"] == [str(retry.task_id)]
    assert gone == 404


def test_retries_are_listed_newest_first(client: Client) -> None:
    task = finished_task()
    retries = [TaskRecord.submit(Kind.INSTANT, retry_of=task) for _ in range(3)]

    _, answer, _ = read(client, task)

    assert answer["retries"] == [str(r.task_id) for r in reversed(retries)]


def test_a_running_tasks_json_is_read_afresh_each_time(client: Client) -> None:
    # Its queued and run seconds count on: nothing of it can be kept.
    task = TaskRecord.submit(Kind.LONG)
    TaskRecord.mark_started(str(task.task_id), worker="w1")

    _, first, _ = read(client, task)
    _, again, queries_again = read(client, task)

    assert first["task_status"] == again["task_status"] == "STARTED"
    assert queries_again == 3


@pytest.fixture
def logged_in(settings: Settings) -> dict[str, Client]:
    """alice and bob (users), carol (staff), each with a client logged in already, so
    that reading afterwards writes nothing: their reads share one change stamp."""
    settings.DASHBOARD_REQUIRE_LOGIN = True
    clients = {}
    for name, staff in [("alice", False), ("bob", False), ("carol", True)]:
        user = User.objects.create_user(name, is_staff=staff)
        clients[name] = Client()
        clients[name].force_login(user)
    return clients


def test_a_remembered_answer_is_never_given_to_another_owner(
    logged_in: dict[str, Client],
) -> None:
    alice, bob, carol = logged_in["alice"], logged_in["bob"], logged_in["carol"]
    alices = finished_task(owner=User.objects.get(username="alice"))
    carols_retry = TaskRecord.submit(
        Kind.INSTANT, retry_of=alices, owner=User.objects.get(username="carol")
    )
    read(alice, alices)  # remembered for alice's scope

    seen_by_carol = read(carol, alices)
    seen_by_bob = read(bob, alices)
    seen_by_alice = read(alice, alices)

    assert seen_by_carol[1]["retries"] == [str(carols_retry.task_id)]
    assert seen_by_bob[0] == 404
    assert seen_by_alice[1]["retries"] == []
    # Nothing changed in between: alice's answer was remembered (the stamp, and her
    # session and user), and still was not handed to carol or bob.
    assert seen_by_alice[2] == 1 + 2
