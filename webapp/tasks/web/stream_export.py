"""The task list as a file: CSV or JSON Lines, streamed at constant memory.

`GET /tasks/?format=csv` (or `Accept: text/csv`) and `?format=jsonl` (or `Accept:
application/jsonl`) answer with every row the table would show with the same
filters, sort and owner scope, across all its pages. Each row is the task's JSON,
exactly as the JSON list gives it (TaskRecord.as_json), plus its owner's name.

Rows are read in chunks of CHUNK_ROWS along the table's own order and index, each
chunk starting after the last row of the one before (the table's keyset cursor,
never OFFSET), and each is written out before the next is read: memory holds one
chunk however many rows there are, and every query is a short range scan, so a
long export holds no read transaction open (SQLite's write-ahead log can still be
checkpointed). Rows that change while an export runs may be met in their old place
or their new one: it is a reading of a live table, not a snapshot.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from webapp import heartbeat
from webapp.tasks.models import TaskRecord
from webapp.tasks.table.query import TableQuery, cursor_of
from webapp.tasks.web.representations import Answer

# Rows per query, and per piece of the response: about 1 MB of CSV.
CHUNK_ROWS = 2000
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection):
# as OWASP advises, such a cell is written with a leading apostrophe, which makes it
# text. Task names, errors and arguments come from anyone who can launch a task.
FORMULA_STARTS = frozenset("=+-@\t\r")

Row = dict[str, Any]


def columns() -> list[str]:
    """The CSV header: the JSON's keys, in its order, then the owner's name."""
    return [*TaskRecord().as_json(), "owner"]


def chunks(query: TableQuery) -> Iterator[list[Row]]:
    """The rows of every page of the query's table, a chunk at a time."""
    first = replace(query, before=None, after="")
    position = first
    related = first.visible().only("id", "task_id")
    owner_names = get_user_model().objects.values_list("pk", "username")
    while tasks := list(position.from_page_start()[:CHUNK_ROWS]):
        # What a task retries is named only if this scope covers it (as in the list).
        prefetch_related_objects(tasks, Prefetch("retry_of", queryset=related))
        names = dict(owner_names.filter(pk__in={t.owner_id for t in tasks if t.owner_id}))
        yield [task.as_json() | {"owner": names.get(task.owner_id or 0)} for task in tasks]
        if len(tasks) < CHUNK_ROWS:
            return
        position = replace(first, after=cursor_of(first, tasks[-1]))


def csv_cell(value: Any) -> str:
    # Called for every cell of every row: the common cases first, cheaply.
    if value is None:
        return ""
    if type(value) is str:
        text = value
    elif isinstance(value, (dict, list, bool)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_pieces(parts: Iterable[list[Row]]) -> Iterator[bytes]:
    """The header, then each chunk's rows, quoted by the csv module (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns())
    for part in parts:
        writer.writerows([csv_cell(value) for value in row.values()] for row in part)
        yield buffer.getvalue().encode("utf-8", errors="replace")
        buffer.seek(0)
        buffer.truncate()
        heartbeat.beat()
    if buffer.tell():  # no rows: the header alone
        yield buffer.getvalue().encode()


def jsonl_pieces(parts: Iterable[list[Row]]) -> Iterator[bytes]:
    """One JSON object per line (JSON Lines, NDJSON), ASCII with escapes as the JSON
    list is, so no value can break the encoding half-way through."""
    for part in parts:
        yield "".join(json.dumps(row) + "\n" for row in part).encode()
        heartbeat.beat()


@dataclass(frozen=True)
class FileFormat:
    extension: str
    content_type: str
    pieces: Callable[[Iterable[list[Row]]], Iterator[bytes]]


FILE_FORMATS = {
    Answer.CSV: FileFormat("csv", "text/csv; charset=utf-8", csv_pieces),
    Answer.JSONL: FileFormat("jsonl", "application/jsonl", jsonl_pieces),
}


def download(request: HttpRequest, query: TableQuery, answer: Answer) -> StreamingHttpResponse:
    """The list as a file to save, named for when it was taken (UTC)."""
    file_format = FILE_FORMATS[answer]
    # gunicorn sends no body for HEAD but would still read every row to drop them.
    body = iter(()) if request.method == "HEAD" else file_format.pieces(chunks(query))
    response = StreamingHttpResponse(body, content_type=file_format.content_type)
    taken = timezone.now().strftime("%Y-%m-%dT%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="tasks-{taken}.{file_format.extension}"'
    )
    # Someone's tasks as they were at one moment: not for any cache to keep.
    response["Cache-Control"] = "no-store"
    # A proxy (nginx) passes each piece on as it comes instead of holding the file.
    response["X-Accel-Buffering"] = "no"
    return response
