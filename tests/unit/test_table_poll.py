"""The table poll: a fixed, small number of indexed queries, whatever the history."""

import gzip
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.table import query

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def add_finished_tasks(count: int) -> None:
    # bulk_create still fires the status-count triggers: one INSERT per row.
    TaskRecord.objects.bulk_create(
        TaskRecord(kind=Kind.INSTANT, status=Status.SUCCESS, progress=100) for _ in range(count)
    )


def version_in(fragment: bytes) -> str:
    match = re.search(rb"since=([0-9a-f]+)", fragment)
    assert match, fragment[:300]
    return match.group(1).decode()


def queries_of(client: Client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=HTMX)
    return response.status_code, len(queries)


@pytest.mark.parametrize("history", [5, 40, 400])
def test_unchanged_poll_is_one_query_and_a_bare_204(
    client: Client, history: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stamp also moves every WORKER_CHECK_SECONDS (worker liveness): a render and
    # a poll on either side of such a boundary would recompute; not what this checks.
    monkeypatch.setattr(query, "WORKER_CHECK_SECONDS", 10**9)
    add_finished_tasks(history)
    version = version_in(client.get("/tasks/", headers=HTMX).content)

    with CaptureQueriesContext(connection) as queries:
        poll = client.get(f"/tasks/?since={version}", headers=HTMX)

    # Only the database's change stamp: nothing changed since the render.
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert poll.status_code == 204
    assert poll.content == b""
    # Document-only headers mean nothing on a bodiless answer; caching ones stay.
    assert "Content-Security-Policy" not in poll.headers
    assert "Content-Type" not in poll.headers
    assert {"Accept", "HX-Request"} <= {v.strip() for v in poll["Vary"].split(",")}


def test_changed_poll_takes_the_same_queries_whatever_the_history(client: Client) -> None:
    counts = []
    for history in (5, 40, 400):
        add_finished_tasks(history)
        status, count = queries_of(client, "/tasks/?since=old")
        assert status == 200
        counts.append(count)

    assert len(set(counts)) == 1, counts
    # rows (+ what they were retried as), counts, workers, panel, queues, charts:
    # none per row
    assert counts[0] <= 15, counts


def test_a_poll_sees_a_change_made_after_its_version_was_remembered(client: Client) -> None:
    add_finished_tasks(3)
    task = TaskRecord.submit(Kind.SHORT)
    version = version_in(client.get("/tasks/", headers=HTMX).content)
    assert client.get(f"/tasks/?since={version}", headers=HTMX).status_code == 204

    TaskRecord.mark_started(str(task.task_id), worker="w")

    assert client.get(f"/tasks/?since={version}", headers=HTMX).status_code == 200


def test_the_version_changes_when_a_visible_row_does(client: Client) -> None:
    add_finished_tasks(3)
    task = TaskRecord.submit(Kind.SHORT)
    versions = [version_in(client.get("/tasks/", headers=HTMX).content)]

    TaskRecord.mark_started(str(task.task_id), worker="w")
    versions.append(version_in(client.get("/tasks/", headers=HTMX).content))
    TaskRecord.report_progress(str(task.task_id), 50)
    versions.append(version_in(client.get("/tasks/", headers=HTMX).content))
    TaskRecord.mark_succeeded(str(task.task_id), None)
    versions.append(version_in(client.get("/tasks/", headers=HTMX).content))

    assert len(set(versions)) == 4, versions


@pytest.mark.parametrize(
    ("url", "index"),
    # Unfiltered, SQLite walks the rowid backwards and stops at the LIMIT.
    [("/tasks/", "SCAN tasks_taskrecord"), ("/tasks/?status=FAILURE", "task_status_idx"),
     ("/tasks/?kind=5", "task_kind_idx"), ("/tasks/?q=3fa8", "task_id")],
)  # fmt: skip
def test_the_rows_query_reads_an_index_newest_first(client: Client, url: str, index: str) -> None:
    add_finished_tasks(50)

    with CaptureQueriesContext(connection) as queries:
        client.get(url, headers={"Accept": "application/json"})

    rows_query = next(
        q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {rows_query}")
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert index in plan, plan
    if index != "task_id":  # a prefix range is small; it may sort what it finds
        assert "TEMP B-TREE" not in plan, plan  # never sorts the whole history


def test_a_changed_table_is_rendered_once_for_every_dashboard(client: Client) -> None:
    add_finished_tasks(30)
    with CaptureQueriesContext(connection) as first:
        one = client.get("/tasks/?since=old", headers=HTMX)

    with CaptureQueriesContext(connection) as second:
        other = client.get("/tasks/?since=older", headers=HTMX)

    assert one.content == other.content
    # The second dashboard: the change stamp, and the announcements' lookup at most.
    assert len(second) < len(first), (len(first), len(second))
    assert len(second) <= 2


def test_the_shared_fragment_holds_nothing_particular_to_one_user(client: Client) -> None:
    # The rendered table is cached and handed to every dashboard with the same
    # filters; a CSRF token (or anything else per user) in it would leak.
    add_finished_tasks(3)
    page = client.get("/", headers={"Accept": "text/html"})
    token = page.cookies["csrftoken"].value

    fragment = client.get("/tasks/", headers=HTMX).content

    assert b"csrfmiddlewaretoken" not in fragment
    assert token.encode() not in fragment
    assert b"csrfmiddlewaretoken" in page.content  # the page itself works without htmx


def test_a_gzipped_fragment_is_the_same_fragment(client: Client) -> None:
    # The shared part is compressed once per version and each answer adds its own
    # parts to a copy of that state: it must still be one whole gzip stream.
    add_finished_tasks(30)
    gzip_ok = HTMX | {"Accept-Encoding": "gzip, deflate"}
    plain = client.get("/tasks/?since=old", headers=HTMX)

    compressed = [client.get("/tasks/?since=old", headers=gzip_ok) for _ in range(2)]
    navigation = client.get("/tasks/?status=SUCCESS", headers=gzip_ok)

    for answer in compressed:
        assert answer["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in answer["Vary"]
        assert gzip.decompress(answer.content) == plain.content
    assert "Content-Encoding" not in plain
    filters_form = gzip.decompress(navigation.content).decode()
    assert 'id="filters"' in filters_form
    assert '<option value="SUCCESS" selected>' in filters_form


def test_dashboards_moving_between_the_same_versions_share_one_announcement_lookup(
    client: Client,
) -> None:
    add_finished_tasks(3)
    task = TaskRecord.submit(Kind.SHORT)
    before = version_in(client.get("/tasks/", headers=HTMX).content)
    TaskRecord.mark_started(str(task.task_id), worker="w")
    first = client.get(f"/tasks/?since={before}", headers=HTMX)

    with CaptureQueriesContext(connection) as queries:
        second = client.get(f"/tasks/?since={before}", headers=HTMX)

    assert b"running." in first.content  # "Task 1a2b3c4d (short) running."
    assert second.content == first.content
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]  # the stamp
