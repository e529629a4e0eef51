"""The readable table's server side: short ids, counts, sorting and paging, durations,
kind descriptions, the header's links and the messages an action leaves."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from webapp.tasks import tasks
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskEvent, TaskRecord
from webapp.tasks.web import timeline

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
JSON = {"Accept": "application/json"}


def task_with_id(task_id: str, **fields: object) -> TaskRecord:
    return TaskRecord.objects.create(task_id=uuid.UUID(task_id), kind=Kind.INSTANT, **fields)


# --- Item 10: short ids ---------------------------------------------------------------


def test_a_unique_short_id_redirects_to_the_task(client: Client) -> None:
    task = task_with_id("2650bad1-0000-4000-8000-000000000001")

    for headers in ({"Accept": "text/html"}, JSON):
        response = client.get("/tasks/2650bad1/", headers=headers)
        assert response.status_code == 302
        assert response["Location"] == task.url
    assert client.get("/tasks/2650bad1-0000-4000-8000-00000000000/")["Location"] == task.url


def test_a_short_id_naming_no_task_or_several_is_a_404_that_says_so(client: Client) -> None:
    task_with_id("2650bad1-0000-4000-8000-000000000001")
    task_with_id("2650bad1-0000-4000-8000-000000000002")

    none = client.get("/tasks/77777777/", headers=JSON)
    several = client.get("/tasks/2650bad1/", headers=JSON)

    assert none.status_code == 404
    assert none.json() == {"error": "No task id starts with '77777777'."}
    assert several.status_code == 404
    assert "Several tasks" in several.json()["error"]


def test_a_short_id_never_finds_another_users_task(client: Client, settings: Settings) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    task_with_id("2650bad1-0000-4000-8000-000000000001", owner=alice)
    client.force_login(bob)

    response = client.get("/tasks/2650bad1/", headers=JSON)

    assert response.status_code == 404


# --- Item 11: count, sort, page size ----------------------------------------------------


def add_tasks(count: int, **fields: object) -> None:
    fields = {"kind": Kind.INSTANT} | fields
    TaskRecord.objects.bulk_create(TaskRecord(**fields) for _ in range(count))


def test_the_table_counts_what_matches_exactly_or_says_10_000_plus(client: Client) -> None:
    add_tasks(3, status=Status.FAILURE)
    add_tasks(10_001, status=Status.SUCCESS, kind=Kind.SHORT)

    everything = client.get("/tasks/", headers=HTMX).content.decode()
    failed = client.get("/tasks/?status=FAILURE", headers=HTMX).content.decode()
    short = client.get("/tasks/?kind=1", headers=HTMX).content.decode()
    short_json = client.get("/tasks/?kind=1", headers=JSON).json()

    assert "10 004 tasks" in everything
    assert "3 match the filters" in failed
    assert "10 000+ match the filters" in short
    assert (short_json["matching"], short_json["matching_exact"]) == (10_000, False)


def ids_on_pages(client: Client, query: str) -> list[list[str]]:
    pages, url = [], f"/tasks/?{query}"
    while url:
        answer = client.get(url, headers=JSON).json()
        pages.append([t["task_id"] for t in answer["tasks"]])
        url = answer["older"]
    return pages


@pytest.mark.parametrize("sort", ["", "oldest", "status", "-status", "runtime", "-runtime"])
def test_every_sort_pages_through_every_task_once_in_order(client: Client, sort: str) -> None:
    for status in (Status.SUCCESS, Status.FAILURE, Status.REVOKED, Status.FAILURE, Status.SUCCESS):
        add_tasks(5, status=status, run_time=timedelta(seconds=len(status)))  # ties, paged
    records = {str(t.task_id): t for t in TaskRecord.objects.all()}

    pages = ids_on_pages(client, f"sort={sort}&size=10")

    assert [len(page) for page in pages] == [10, 10, 5]
    seen = [records[task_id] for page in pages for task_id in page]
    key = {
        "": lambda t: -t.id,
        "oldest": lambda t: t.id,
        "status": lambda t: (t.status, t.id),
        "-status": lambda t: (t.status, t.id),
        "runtime": lambda t: (t.run_time, t.id),
        "-runtime": lambda t: (t.run_time, t.id),
    }[sort]
    assert seen == sorted(records.values(), key=key, reverse=sort.startswith("-"))


def test_sorting_by_run_time_lists_the_tasks_that_ran(client: Client) -> None:
    add_tasks(2, status=Status.PENDING)
    task = TaskRecord.submit(Kind.SHORT)
    TaskRecord.mark_started(str(task.task_id), "w@host")
    TaskRecord.mark_succeeded(str(task.task_id), {"ok": True})
    task.refresh_from_db()

    answer = client.get("/tasks/?sort=-runtime", headers=JSON).json()

    assert task.finished_at
    assert task.started_at
    assert task.run_time == task.finished_at - task.started_at  # stored on finishing
    assert [t["task_id"] for t in answer["tasks"]] == [str(task.task_id)]
    assert answer["matching"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "sort=result",
        "size=7",
        "size=x",
        "sort=status&after=12",
        "sort=oldest&after=A.1",
        "sort=runtime&after=SUCCESS.3",
    ],
)
def test_bad_sort_size_or_position_is_a_400_saying_why(client: Client, query: str) -> None:
    response = client.get(f"/tasks/?{query}", headers=JSON)

    assert response.status_code == 400
    assert re.match(r"(sort|size|after) must be", response.json()["error"])


def test_sorted_column_header_says_so_and_links_the_other_way(client: Client) -> None:
    add_tasks(2, status=Status.SUCCESS)

    html = client.get("/?sort=status", headers={"Accept": "text/html"}).content.decode()

    assert 'aria-sort="ascending"><a class="sort" href="/?sort=-status"' in html
    assert 'aria-sort="none"><a class="sort" href="/?"' in html


# --- Item 5: durations from the timeline -------------------------------------------------


def test_a_flaky_task_queued_once_and_ran_three_attempts() -> None:
    t0 = timezone.now() - timedelta(minutes=5)
    task = task_with_id(
        str(uuid.uuid4()),
        status=Status.SUCCESS,
        submitted_at=t0,
        finished_at=t0 + timedelta(seconds=40),
    )
    steps = [(2, Status.STARTED), (6, Status.RETRY), (8, Status.STARTED), (12, Status.RETRY),
             (24, Status.STARTED), (40, Status.SUCCESS)]  # fmt: skip
    for second, status in steps:
        TaskEvent.objects.create(task=task, status=status, at=t0 + timedelta(seconds=second))

    times = timeline.durations(task, list(task.events.all()))

    assert times.queued_seconds == 2
    assert [a.seconds for a in times.attempts] == [4, 4, 16]
    assert times.ran_seconds == 24
    assert times.finished
    assert not times.running
    assert not times.never_started


def test_a_task_cancelled_in_the_queue_never_started(client: Client) -> None:
    t0 = timezone.now() - timedelta(seconds=30)
    task = task_with_id(
        str(uuid.uuid4()),
        status=Status.REVOKED,
        submitted_at=t0,
        finished_at=t0 + timedelta(seconds=9),
    )

    times = timeline.durations(task, [])
    page = client.get(task.url, headers={"Accept": "text/html"}).content.decode()
    answer = client.get(task.url, headers=JSON).json()

    assert times.never_started
    assert times.queued_seconds == 9
    assert times.ran_seconds is None
    assert "Never started" in page
    assert "cancelled before it started" in page
    assert "Running for" not in page
    assert "0%" not in page
    assert (answer["queued_seconds"], answer["run_seconds"], answer["attempt_seconds"]) == (
        9,
        None,
        [],
    )


# --- Item 6: kind descriptions ----------------------------------------------------------


def test_kind_descriptions_use_the_scaled_durations(settings: Settings) -> None:
    settings.TASK_TIME_SCALE = 0.3

    assert Kind.LONG.description == "Sleeps 9 s in 20 steps."
    assert "3 s" in Kind.CPU.description
    assert Kind.CPU.title == "CPU-heavy"


def test_the_dashboard_shows_each_description_next_to_its_button(client: Client) -> None:
    html = client.get("/", headers={"Accept": "text/html"}).content.decode()

    for kind in Kind:
        assert f'aria-describedby="kind-{kind.value}-description"' in html
        assert f'id="kind-{kind.value}-description">{kind.description}</p>' in html
    assert "title=" not in html.split('class="launch"')[1].split("</section>")[0]


# --- Item 9: header links ---------------------------------------------------------------


def test_header_links_to_the_configured_flower_and_the_filtered_json(
    client: Client, settings: Settings
) -> None:
    settings.FLOWER_URL = "https://flower.example:8555"

    html = client.get("/?status=FAILURE&kind=5&since=x", headers={"Accept": "text/html"})

    body = html.content.decode()
    assert '<a href="https://flower.example:8555">Flower</a>' in body
    assert 'href="/tasks/?status=FAILURE&amp;kind=5&amp;format=json"' in body
    assert "127.0.0.1:5555" not in body


# --- Item 7: what actions say -----------------------------------------------------------


def test_clear_finished_says_how_many_it_deleted(client: Client) -> None:
    add_tasks(3, status=Status.SUCCESS, finished_at=timezone.now() - timedelta(seconds=1))

    fragment = client.post("/tasks/clear/", headers=HTMX).content.decode()
    plain = client.post(
        "/tasks/clear/", {"confirm": "yes"}, headers={"Accept": "text/html"}
    ).content.decode()

    assert 'id="messages" hx-swap-oob="innerHTML"' in fragment
    assert "Deleted 3 finished tasks." in fragment
    assert "There were no finished tasks to delete." in plain  # the page that says so


def test_a_json_client_gets_no_message_cookie(client: Client) -> None:
    add_tasks(1, status=Status.SUCCESS, finished_at=timezone.now() - timedelta(seconds=1))

    response = client.post("/tasks/clear/", headers=JSON)

    assert json.loads(response.content) == {"deleted": 1}
    assert "messages" not in response.cookies


def test_launching_onto_another_page_of_a_sorted_table_says_so(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SUBMIT_RATE_LIMIT = "off"
    monkeypatch.setattr(tasks, "publish", lambda *args, **kwargs: None)  # no broker here
    add_tasks(12, status=Status.SUCCESS)
    oldest_first = HTMX | {"HX-Current-URL": "http://testserver/?sort=oldest&size=10"}
    newest_first = HTMX | {"HX-Current-URL": "http://testserver/?size=10"}

    elsewhere = client.post("/tasks/", {"type": "0"}, headers=oldest_first).content.decode()
    here = client.post("/tasks/", {"type": "0"}, headers=newest_first).content.decode()

    assert "It is not on this page of the table." in elsewhere
    assert re.search(
        r"Launched instant task <a href=\"/tasks/[0-9a-f-]{36}/\"><code>\w{8}</code></a>\.</p>",
        here,
    )
