"""Queues on the dashboard and over JSON: the panel, pausing (staff only), the poll."""

import dataclasses
import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from webapp.tasks.catalogue import entries as catalogue
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import ApiToken, QueueState, TaskRecord
from webapp.tasks.table import query

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
PAGE = {"Accept": "text/html"}


def version_in(fragment: bytes) -> str:
    match = re.search(rb"since=([0-9a-f]+)", fragment)
    assert match, fragment[:300]
    return match.group(1).decode()


@pytest.fixture
def many_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind in a queue of its own, and the default one (which Celery's other
    tasks use), some of them paused."""
    entries = {
        kind: dataclasses.replace(entry, queue=f"queue-{kind.label}")
        for kind, entry in catalogue.ENTRIES.items()
    }
    monkeypatch.setattr(catalogue, "ENTRIES", entries)
    for kind in (Kind.CPU, Kind.LONG, Kind.FLAKY):
        QueueState.set_paused(f"queue-{kind.label}", True)


@pytest.mark.parametrize("setup", ["two queues", "a queue per kind"])
def test_unchanged_poll_is_one_query_however_many_queues(
    client: Client, setup: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query, "WORKER_CHECK_SECONDS", 10**9)
    if setup == "a queue per kind":
        request.getfixturevalue("many_queues")
    for kind in Kind:
        TaskRecord.submit(kind)
    version = version_in(client.get("/tasks/", headers=HTMX).content)

    with CaptureQueriesContext(connection) as queries:
        poll = client.get(f"/tasks/?since={version}", headers=HTMX)

    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert poll.status_code == 204


def test_a_changed_poll_reads_the_same_queries_for_two_queues_or_one_per_kind(
    client: Client, request: pytest.FixtureRequest
) -> None:
    for kind in Kind:
        TaskRecord.submit(kind)
    with CaptureQueriesContext(connection) as two:
        assert client.get("/tasks/?since=old", headers=HTMX).status_code == 200
    request.getfixturevalue("many_queues")

    with CaptureQueriesContext(connection) as many:
        fragment = client.get("/tasks/?since=older", headers=HTMX).content

    assert len(many) == len(two)
    assert fragment.count(b'<li id="queue-') == len(Kind) + 1


def test_a_poll_sees_a_pause_and_the_rows_say_what_waits_behind_it(client: Client) -> None:
    cpu = TaskRecord.submit(Kind.CPU)
    short = TaskRecord.submit(Kind.SHORT)
    version = version_in(client.get("/tasks/", headers=HTMX).content)

    QueueState.set_paused("cpu", True)
    poll = client.get(f"/tasks/?since={version}", headers=HTMX)

    assert poll.status_code == 200
    rows = poll.content.decode()
    cpu_row = rows[rows.index(f'id="task-{cpu.task_id}"') :]
    short_row = rows[rows.index(f'id="task-{short.task_id}"') :]
    assert "waiting: queue cpu is paused" in cpu_row[: cpu_row.index("</tr>")]
    assert "waiting: queue" not in short_row[: short_row.index("</tr>")]
    assert 'id="queue-cpu" data-paused="true"' in rows


def test_the_panel_names_each_queues_oldest_waiting_task(client: Client) -> None:
    older_cpu = TaskRecord.submit(Kind.CPU)
    TaskRecord.submit(Kind.CPU)
    short = TaskRecord.submit(Kind.SHORT)

    listed = client.get("/queues/").json()["queues"]

    oldest = {queue["name"]: queue["oldest_waiting"]["task_id"] for queue in listed}
    assert oldest == {"default": str(short.task_id), "cpu": str(older_cpu.task_id)}


def test_pausing_over_json_stores_it_and_resuming_undoes_it(client: Client) -> None:
    paused = client.post("/queues/cpu/pause/")
    again = client.post("/queues/cpu/pause/")
    listed = client.get("/queues/").json()

    assert paused.status_code == 200
    assert paused.json() | {"waiting": None} == paused.json() | {
        "name": "cpu",
        "paused": True,
        "changed": True,
        "waiting": None,
    }
    assert again.json()["changed"] is False
    assert [(q["name"], q["paused"]) for q in listed["queues"]] == [
        ("default", False),
        ("cpu", True),
    ]
    assert QueueState.paused_names() == {"cpu"}

    resumed = client.post("/queues/cpu/resume/")

    assert resumed.json()["paused"] is False
    assert QueueState.paused_names() == set()


def test_a_plain_form_pauses_and_goes_back_to_the_page_it_came_from(client: Client) -> None:
    client.get("/", headers=PAGE)  # a browser: it has the CSRF cookie

    response = client.post(
        "/queues/cpu/pause/",
        {"next": "/?status=PENDING"},
        headers=PAGE,
    )

    assert response.status_code == 303
    assert response["Location"] == "/?status=PENDING"
    assert QueueState.paused_names() == {"cpu"}


def test_an_unknown_queue_is_a_404_naming_the_queues(client: Client) -> None:
    response = client.post("/queues/nope/pause/")

    assert response.status_code == 404
    assert response.json() == {
        "error": "There is no queue named 'nope'; the queues are default, cpu."
    }


def test_the_queues_page_lists_them_for_a_browser(client: Client) -> None:
    QueueState.set_paused("cpu", True)

    page = client.get("/queues/", headers=PAGE)

    assert page.status_code == 200
    assert b"<h1" in page.content
    assert b'id="queue-cpu" data-paused="true"' in page.content
    assert b"Resume<span" in page.content
    assert "Accept" in page["Vary"]


@pytest.fixture
def login_on(settings: Settings) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True


def test_only_staff_may_pause_and_others_are_told_why(client: Client, login_on: None) -> None:
    alice = User.objects.create_user("alice")
    carol = User.objects.create_user("carol", is_staff=True)
    client.force_login(alice)

    refused = client.post("/queues/cpu/pause/", headers={"Accept": "application/json"})
    alices_view = client.get("/queues/").json()
    client.force_login(carol)
    allowed = client.post("/queues/cpu/pause/", headers={"Accept": "application/json"})

    assert refused.status_code == 403
    assert "Only staff may pause or resume a queue" in refused.json()["error"]
    assert alices_view["may_pause"] is False
    assert allowed.status_code == 200
    assert QueueState.objects.get(name="cpu").changed_by == carol


def test_a_user_who_sees_their_own_tasks_counts_only_theirs_per_queue(
    client: Client, login_on: None
) -> None:
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    TaskRecord.submit(Kind.CPU, owner=bob)
    mine = TaskRecord.submit(Kind.CPU, owner=alice)
    TaskRecord.submit(Kind.CPU, owner=alice)
    client.force_login(alice)

    listed = {q["name"]: q for q in client.get("/queues/").json()["queues"]}
    page = client.get("/", headers=PAGE).content.decode()

    assert listed["cpu"]["waiting"] == 2
    assert listed["cpu"]["own_only"] is True
    assert listed["cpu"]["oldest_waiting"]["task_id"] == str(mine.task_id)
    assert listed["default"]["waiting"] == 0
    assert "Your tasks waiting" in page
    assert "/queues/cpu/pause/" not in page  # no button they could not use


def test_a_browser_form_without_the_csrf_token_is_refused(client: Client) -> None:
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/", headers=PAGE)
    token = page.cookies["csrftoken"].value

    forged = browser.post("/queues/cpu/pause/", headers=PAGE)
    genuine = browser.post("/queues/cpu/pause/", {"csrfmiddlewaretoken": token}, headers=PAGE)

    assert forged.status_code == 403
    assert genuine.status_code == 303
    assert QueueState.paused_names() == {"cpu"}


def test_a_script_pauses_with_a_staff_token_and_a_read_only_one_is_refused(
    client: Client, login_on: None
) -> None:
    carol = User.objects.create_user("carol", is_staff=True)
    _, token = ApiToken.issue(carol)
    _, read_only = ApiToken.issue(carol, read_only=True)

    refused = client.post("/queues/cpu/pause/", headers={"Authorization": f"Bearer {read_only}"})
    paused = client.post("/queues/cpu/pause/", headers={"Authorization": f"Bearer {token}"})

    assert refused.status_code == 403
    assert paused.status_code == 200
    assert paused.json()["paused"] is True
