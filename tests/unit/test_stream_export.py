"""The streamed export's pieces on the test database: chunks that follow the table's
order across their seams in every sort, rows shaped as the task's JSON, and CSV cells
a spreadsheet can't run. (Over HTTP: tests/integration/test_stream_export.py.)"""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.table.query import SORTS, TableQuery
from webapp.tasks.web import stream_export

pytestmark = pytest.mark.django_db
RETRY = 9  # alice's, a retry of the first task (nobody's)


@pytest.fixture
def mixed_tasks() -> list[TaskRecord]:
    """Eleven tasks of several statuses, run times (some equal) and owners, one a
    retry of another: enough to cross a seam of chunks of three in every order."""
    alice = User.objects.create_user("alice-stream")
    statuses = [Status.SUCCESS, Status.FAILURE, Status.PENDING, Status.REVOKED]
    now = timezone.now()
    tasks = []
    for n in range(11):
        record = TaskRecord.submit(Kind.SHORT, owner=alice if n % 2 else None)
        status = statuses[n % 4]
        finished = status != Status.PENDING
        TaskRecord.objects.filter(pk=record.pk).update(
            status=status,
            started_at=now if finished else None,
            finished_at=now if finished else None,
            run_time=timedelta(seconds=n % 3) if finished else None,
            result={"n": n} if status == Status.SUCCESS else None,
        )
        tasks.append(record)
    TaskRecord.objects.filter(pk=tasks[RETRY].pk).update(retry_of=tasks[0])
    return tasks


def exported_ids(query: TableQuery) -> list[str]:
    return [str(row["task_id"]) for part in stream_export.chunks(query) for row in part]


@pytest.mark.parametrize("sort", list(SORTS))
def test_chunks_list_the_tables_rows_in_its_order_across_their_seams(
    mixed_tasks: list[TaskRecord], sort: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_export, "CHUNK_ROWS", 3)
    query = TableQuery(owner=None, sort=sort)

    exported = exported_ids(query)

    table = [str(task_id) for task_id in query.from_page_start().values_list("task_id", flat=True)]
    assert exported == table
    assert len(exported) == len(set(exported)) >= 7  # (by run time: the finished ones)


def test_chunks_start_at_the_first_row_whatever_page_the_query_was_on(
    mixed_tasks: list[TaskRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_export, "CHUNK_ROWS", 4)
    on_a_later_page = TableQuery(owner=None, before=mixed_tasks[3].pk, size=10)

    assert exported_ids(on_a_later_page) == [str(t.task_id) for t in reversed(mixed_tasks)]


def test_each_row_is_the_tasks_json_with_its_owners_name(mixed_tasks: list[TaskRecord]) -> None:
    rows = [row for part in stream_export.chunks(TableQuery(owner=None)) for row in part]

    by_id = {row["task_id"]: row for row in rows}
    for task in mixed_tasks:
        task.refresh_from_db()
        row = by_id[str(task.task_id)]
        owner = task.owner.username if task.owner else None
        volatile = {"queued_seconds"}  # a queued task's grows with the clock
        assert {k: v for k, v in row.items() if k not in volatile} == {
            k: v for k, v in (task.as_json() | {"owner": owner}).items() if k not in volatile
        }
    assert by_id[str(mixed_tasks[RETRY].task_id)]["retry_of"] == str(mixed_tasks[0].task_id)
    assert list(rows[0]) == stream_export.columns()


def test_a_user_who_sees_only_their_own_tasks_is_not_told_what_they_retry(
    mixed_tasks: list[TaskRecord],
) -> None:
    alice = User.objects.get(username="alice-stream")

    rows = [row for part in stream_export.chunks(TableQuery(owner=alice.pk)) for row in part]

    retry = next(row for row in rows if row["task_id"] == str(mixed_tasks[RETRY].task_id))
    assert retry["retry_of"] is None
    assert {row["owner"] for row in rows} == {"alice-stream"}


def test_csv_quotes_and_numbers_round_trip(mixed_tasks: list[TaskRecord]) -> None:
    text = b"".join(stream_export.csv_pieces(stream_export.chunks(TableQuery(owner=None))))

    rows = list(csv.DictReader(io.StringIO(text.decode())))
    succeeded = next(row for row in rows if row["task_status"] == "SUCCESS")
    assert json.loads(succeeded["task_result"]) == {"n": int(succeeded["task_result"][5:-1])}
    assert len(rows) == len(mixed_tasks)


def test_a_file_without_rows_still_has_its_header() -> None:
    text = b"".join(stream_export.csv_pieces(stream_export.chunks(TableQuery(owner=None))))
    lines = b"".join(stream_export.jsonl_pieces(stream_export.chunks(TableQuery(owner=None))))

    assert text.decode() == ",".join(stream_export.columns()) + "\r\n"
    assert lines == b""


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+41 555 0100", "'+41 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (12.5, "12.5"),
        (True, "true"),
        ({"to": "=x"}, '{"to":"=x"}'),
        (["-1"], '["-1"]'),
        ("naïve ✓", "naïve ✓"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_text(value: object, cell: str) -> None:
    assert stream_export.csv_cell(value) == cell
