"""The table poll: a fixed, small number of indexed queries, whatever the history."""

import re
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from webapp.tasks.kinds import Kind
from webapp.tasks.models import Status, TaskRecord

pytestmark = [
    pytest.mark.django_db,
    # WhiteNoise warns that collectstatic has not run; these tests serve no files.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def add_finished_tasks(count: int) -> None:
    TaskRecord.objects.bulk_create(
        TaskRecord(kind=Kind.INSTANT, status=Status.SUCCESS, progress=100)
        for _ in range(count)
    )


def version_in(fragment: bytes) -> str:
    match = re.search(rb"since=([0-9a-f]+)", fragment)
    assert match, fragment[:300]
    return match.group(1).decode()


def test_unchanged_poll_is_one_query_and_a_bare_204(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    add_finished_tasks(30)
    version = version_in(client.get("/tasks/", headers=HTMX).content)

    with django_assert_num_queries(1):
        poll = client.get(f"/tasks/?since={version}", headers=HTMX)

    assert poll.status_code == 204
    assert poll.content == b""
    # Document-only headers mean nothing on a bodiless answer; caching ones stay.
    assert "Content-Security-Policy" not in poll.headers
    assert "X-Frame-Options" not in poll.headers
    assert "Content-Type" not in poll.headers
    assert {"Accept", "HX-Request"} <= {v.strip() for v in poll["Vary"].split(",")}


@pytest.mark.parametrize("history", [5, 40, 400])
def test_changed_poll_takes_the_same_queries_whatever_the_history(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, history: int
) -> None:
    add_finished_tasks(history)
    TaskRecord.mark_started(str(TaskRecord.objects.first().task_id), worker="w")  # type: ignore[union-attr]

    # The version, then the visible rows: no query per row.
    with django_assert_num_queries(2):
        fresh = client.get("/tasks/?since=old", headers=HTMX)
    # Another dashboard asking for the same table gets the same render.
    with django_assert_num_queries(1):
        again = client.get("/tasks/?since=old", headers=HTMX)

    assert fresh.status_code == again.status_code == 200
    assert fresh.content == again.content
    assert fresh.content.count(b"<tr id=") == min(history, 25)
    assert fresh["Content-Security-Policy"]  # a body keeps every header


def test_the_version_changes_when_a_visible_row_does(client: Client) -> None:
    add_finished_tasks(3)
    task = TaskRecord.objects.create(kind=Kind.SHORT)
    versions = [version_in(client.get("/tasks/", headers=HTMX).content)]

    TaskRecord.mark_started(str(task.task_id), worker="w")
    versions.append(version_in(client.get("/tasks/", headers=HTMX).content))
    TaskRecord.report_progress(str(task.task_id), 50)
    versions.append(version_in(client.get("/tasks/", headers=HTMX).content))
    TaskRecord.mark_succeeded(str(task.task_id), None)
    versions.append(version_in(client.get("/tasks/", headers=HTMX).content))

    assert len(set(versions)) == 4, versions


def test_the_shared_fragment_holds_nothing_particular_to_one_user(
    client: Client,
) -> None:
    # The rendered table is cached and handed to every dashboard; a CSRF token (or
    # anything else per user) in it would leak to everyone else.
    add_finished_tasks(3)
    page = client.get("/", headers={"Accept": "text/html"})
    token = page.cookies["csrftoken"].value

    fragment = client.get("/tasks/", headers=HTMX).content

    assert b"csrfmiddlewaretoken" not in fragment
    assert token.encode() not in fragment


def test_poll_queries_use_indexes_not_scans() -> None:
    add_finished_tasks(50)
    TaskRecord.objects.create(kind=Kind.SHORT)

    with CaptureQueriesContext(connection) as queries:
        TaskRecord.newest_stamps(25)
        list(TaskRecord.objects.all()[:25])

    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
            plans.append(" / ".join(row[-1] for row in cursor.fetchall()))
    for plan in plans:
        assert "TEMP B-TREE" not in plan, plan  # no sorting of the whole history
    assert "USING COVERING INDEX task_status_idx" in plans[0], plans[0]
