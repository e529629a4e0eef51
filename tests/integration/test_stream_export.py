"""The task list as a CSV or JSON Lines file, over HTTP from gunicorn: every row the
table would show with the same filters, sort and owner scope (all pages of it),
chosen by `?format=` or by Accept, spreadsheet formulas made text, and streamed at a
memory that does not grow with the number of rows.

A server of its own, with login on, on a database of its own: the memory test puts
100 000 tasks in, which the rest of the suite must not meet in its tables."""

import contextlib
import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.fill import fill_recent
from conftest import PAGE_SIZE, Service, Stack, free_port, start_web

# alice has more tasks than a page holds, among them text a spreadsheet would run;
# bob has a few; carol is staff; dave is the one with very many tasks (added later).
PLANT = """
import json
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord

users = {
    name: User.objects.create_user(name, password=f"{name}-secret-pw", is_staff=staff)
    for name, staff in [("alice", False), ("bob", False), ("carol", True), ("dave", False)]
}
now = timezone.now()


def plant(owner, kind, status, **fields):
    finished = status in ("SUCCESS", "FAILURE", "REVOKED")
    record = TaskRecord.objects.create(
        owner=users[owner], kind=kind, status=status,
        progress=100 if finished else 0,
        started_at=now - timedelta(seconds=3) if finished else None,
        finished_at=now if finished else None,
        run_time=timedelta(seconds=3) if finished else None,
        **fields,
    )
    return str(record.task_id)


ids = {"alice": [], "bob": []}
for n in range(2 * PAGE_SIZE):
    ids["alice"].append(plant("alice", Kind.SHORT, "SUCCESS", result={"slept_seconds": n}))
ids["alice"].append(
    plant("alice", Kind.FAILING, "FAILURE", error='=HYPERLINK("http://evil.example","x")')
)
ids["alice"].append(
    plant("alice", None, "SUCCESS", name="@SUM(1+1)", args=["+cmd", -2], kwargs={"to": "-x"})
)
ids["alice"].append(plant("alice", Kind.LONG, "PENDING"))
ids["bob"].append(plant("bob", Kind.SHORT, "FAILURE", error="bob's own trouble"))
ids["bob"].append(plant("bob", Kind.SHORT, "SUCCESS", result={"slept_seconds": 1}))
ids["dave"] = users["dave"].pk
print(json.dumps(ids))
""".replace("PAGE_SIZE", str(PAGE_SIZE))

WORKER_TIMEOUT = 2
FILENAME = re.compile(r'^attachment; filename="tasks-\d{4}-\d\d-\d\dT\d{4}\.(csv|jsonl)"$')


@dataclass
class ExportServer:
    url: str
    tokens: dict[str, str]
    ids: dict[str, list[str]]  # the planted tasks of alice and bob, oldest first
    dave: int  # dave's user id
    database: Path
    web: Service

    def as_user(self, name: str, **headers: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.tokens[name]}", "Accept": "*/*"}
        return httpx.Client(base_url=self.url, headers=auth | headers, timeout=120)


@pytest.fixture(scope="module")
def server(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExportServer]:
    directory = tmp_path_factory.mktemp("export")
    redis = stack.env["REDIS_URL"].rsplit("/", 1)[0]
    env = stack.env | {
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "REDIS_URL": f"{redis}/7",  # its cache keys apart from the session's server
        "EXPORT_DIR": str(directory / "exports"),
        "DASHBOARD_REQUIRE_LOGIN": "true",
        # A worker that tells gunicorn nothing for this long is killed: a 100 000-row
        # export takes longer, and must not be (test_an_export_outlasting_...).
        "GUNICORN_TIMEOUT": str(WORKER_TIMEOUT),
    }
    own = Stack(url="", env=env, directory=directory)
    try:
        own.manage("migrate", "--noinput", "-v", "0")
        planted = json.loads(own.manage("shell", "-c", PLANT).strip().splitlines()[-1])
        users = ("alice", "bob", "carol", "dave")
        tokens = {name: own.manage("create_token", name).strip() for name in users}
        port = free_port()
        # One worker, so that the memory measured is the memory of the one that answered.
        web = start_web(own, port, env=env, workers=1)
        dave = planted.pop("dave")
        yield ExportServer(
            f"http://127.0.0.1:{port}", tokens, planted, dave, directory / "db.sqlite3", web
        )
    finally:
        own.stop()


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


def jsonl_rows(response: httpx.Response) -> list[dict[str, object]]:
    return [json.loads(line) for line in response.text.splitlines()]


# --- Which rows, in which form ----------------------------------------------------------


def test_csv_by_format_lists_every_page_of_the_users_tasks_newest_first(
    server: ExportServer,
) -> None:
    with server.as_user("alice") as alice:
        response = alice.get("/tasks/", params={"format": "csv"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert FILENAME.match(response.headers["Content-Disposition"])
    assert "Content-Length" not in response.headers  # streamed, not built whole first
    rows = csv_rows(response)
    assert [row["task_id"] for row in rows] == server.ids["alice"][::-1]
    assert len(rows) > 2 * PAGE_SIZE
    assert {row["owner"] for row in rows} == {"alice"}


def test_accept_text_csv_gets_the_same_file(server: ExportServer) -> None:
    finished = {"status": "SUCCESS"}  # nothing whose queued_seconds moves with the clock
    with server.as_user("alice") as alice:
        by_format = alice.get("/tasks/", params=finished | {"format": "csv"})
        by_accept = alice.get("/tasks/", params=finished, headers={"Accept": "text/csv"})

    assert by_accept.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert by_accept.text == by_format.text


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"format": "jsonl"}, {}),
        ({}, {"Accept": "application/jsonl"}),
        ({}, {"Accept": "application/x-ndjson"}),
    ],
    ids=["format", "accept-jsonl", "accept-ndjson"],
)
def test_json_lines_hold_each_task_as_the_json_list_gives_it(
    server: ExportServer, params: dict[str, str], headers: dict[str, str]
) -> None:
    finished = {"status": "SUCCESS"}  # nothing whose queued_seconds moves with the clock
    with server.as_user("alice") as alice:
        listed = alice.get("/tasks/", params=finished).json()["tasks"]
        response = alice.get("/tasks/", params=finished | params, headers=headers)

    assert response.headers["Content-Type"] == "application/jsonl"
    assert FILENAME.match(response.headers["Content-Disposition"])
    rows = jsonl_rows(response)
    assert len(rows) > len(listed) == PAGE_SIZE
    assert rows[: len(listed)] == [task | {"owner": "alice"} for task in listed]


def test_the_table_filters_and_sort_choose_the_rows(server: ExportServer) -> None:
    with server.as_user("alice") as alice:
        failed = alice.get("/tasks/", params={"format": "csv", "status": "FAILURE", "kind": 5})
        by_status = alice.get("/tasks/", params={"format": "jsonl", "sort": "status"})
        foreign = alice.get("/tasks/", params={"format": "csv", "kind": "other"})

    assert [row["task_id"] for row in csv_rows(failed)] == [server.ids["alice"][-3]]
    statuses = [str(row["task_status"]) for row in jsonl_rows(by_status)]
    assert statuses == sorted(statuses)
    assert len(statuses) == len(server.ids["alice"])
    assert [row["task_id"] for row in csv_rows(foreign)] == [server.ids["alice"][-2]]


def test_paging_parameters_do_not_cut_the_file(server: ExportServer) -> None:
    with server.as_user("alice") as alice:
        second_page = alice.get("/tasks/").json()["older"]
        response = alice.get(f"{second_page}&format=csv&size=10")

    assert len(csv_rows(response)) == len(server.ids["alice"])


def test_nobody_gets_another_users_tasks_and_staff_get_everyones(server: ExportServer) -> None:
    with server.as_user("bob") as bob, server.as_user("carol") as carol:
        bobs = bob.get("/tasks/", params={"format": "csv"})
        bobs_jsonl = bob.get("/tasks/", headers={"Accept": "application/jsonl"})
        everyones = carol.get("/tasks/", params={"format": "csv"})

    assert [row["task_id"] for row in csv_rows(bobs)] == server.ids["bob"][::-1]
    assert [row["task_id"] for row in jsonl_rows(bobs_jsonl)] == server.ids["bob"][::-1]
    for alices in server.ids["alice"]:
        assert alices not in bobs.text
    seen_by_staff = {row["task_id"]: row["owner"] for row in csv_rows(everyones)}
    assert {seen_by_staff[task] for task in server.ids["alice"]} == {"alice"}
    assert {seen_by_staff[task] for task in server.ids["bob"]} == {"bob"}


def test_a_stranger_gets_401_not_a_file(server: ExportServer) -> None:
    response = httpx.get(f"{server.url}/tasks/?format=csv")

    assert response.status_code == 401
    assert response.json()["error"].startswith("Log in first")


def test_cells_a_spreadsheet_would_run_as_formulas_are_text(server: ExportServer) -> None:
    with server.as_user("alice") as alice:
        response = alice.get("/tasks/", params={"format": "csv"})

    rows = {row["task_id"]: row for row in csv_rows(response)}
    failed, foreign = rows[server.ids["alice"][-3]], rows[server.ids["alice"][-2]]
    assert failed["error"] == '\'=HYPERLINK("http://evil.example","x")'
    assert foreign["name"] == foreign["kind_name"] == "'@SUM(1+1)"
    assert foreign["args"] == '["+cmd",-2]'  # JSON text: starts with a bracket
    assert foreign["kwargs"] == '{"to":"-x"}'
    for row in rows.values():
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@"))


def test_a_format_it_cannot_give_is_a_400_naming_those_it_can(server: ExportServer) -> None:
    with server.as_user("alice") as alice:
        for_script = alice.get("/tasks/", params={"format": "xlsx"})
        for_browser = alice.get("/", params={"format": "xml"}, headers={"Accept": "text/html"})

    assert for_script.status_code == 400
    assert for_script.json() == {
        "error": "format must be one of json, csv, jsonl (or none: see Accept)."
    }
    assert for_browser.status_code == 400
    assert "format must be one of json, csv, jsonl" in for_browser.text


def test_head_says_what_the_file_would_be_without_reading_it(server: ExportServer) -> None:
    with server.as_user("alice") as alice:
        response = alice.head("/tasks/", params={"format": "csv"})

    assert response.status_code == 200
    assert FILENAME.match(response.headers["Content-Disposition"])
    assert response.content == b""


def test_the_dashboard_page_offers_the_downloads_of_its_filters(server: ExportServer) -> None:
    with server.as_user("alice", Accept="text/html") as alice:
        page = alice.get("/", params={"status": "FAILURE", "size": 25, "before": 99}).text

    assert 'href="/tasks/?status=FAILURE&amp;format=csv" download>Download CSV</a>' in page
    assert 'href="/tasks/?status=FAILURE&amp;format=jsonl" download>JSON Lines</a>' in page


# --- Constant memory ----------------------------------------------------------------------


def workers_of(master: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == master:
            children.append(int(stat.parent.name))
    return children


def peak_memory_kb(server: ExportServer) -> int:
    """The highest resident memory the gunicorn worker has had (VmHWM)."""
    (worker,) = workers_of(server.web.process.pid)
    status = Path(f"/proc/{worker}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)[1])  # type: ignore[index]


def add_daves_tasks(server: ExportServer, count: int) -> None:
    """Finished tasks of dave's, straight into the database, as the busy-hour tests do."""
    db = sqlite3.connect(server.database, timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        fill_recent(db, count, server.dave)
        db.execute("COMMIT")
    finally:
        db.close()


def daves_task_count(server: ExportServer) -> int:
    with contextlib.closing(sqlite3.connect(server.database)) as db:
        query = "SELECT count(*) FROM tasks_taskrecord WHERE owner_id = ?"
        return int(db.execute(query, (server.dave,)).fetchone()[0])


def exported_rows(server: ExportServer, file_format: str) -> int:
    """Download dave's file, counting its lines as they come and keeping none."""
    lines = 0
    with (
        server.as_user("dave") as dave,
        dave.stream("GET", "/tasks/", params={"format": file_format}) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            lines += bool(line)
    return lines - (file_format == "csv")  # the header


def test_memory_does_not_grow_with_the_number_of_rows(server: ExportServer) -> None:
    add_daves_tasks(server, 10_000)
    assert exported_rows(server, "csv") == 10_000  # the code, its imports, one chunk
    assert exported_rows(server, "jsonl") == 10_000
    after_ten_thousand = peak_memory_kb(server)

    add_daves_tasks(server, 90_000)
    assert exported_rows(server, "csv") == 100_000
    assert exported_rows(server, "jsonl") == 100_000
    after_a_hundred_thousand = peak_memory_kb(server)

    # Holding the 90 000 more rows would take over 30 MB as CSV text alone, and several
    # times that as model instances; one chunk's worth of noise is all that may show.
    assert after_a_hundred_thousand - after_ten_thousand < 8_000


def test_an_export_outlasting_the_worker_timeout_is_not_killed(server: ExportServer) -> None:
    # gunicorn kills a sync worker that has not said it is alive for WORKER_TIMEOUT
    # seconds; 100 000 rows take several times that, and each chunk says so.
    if (missing := 100_000 - daves_task_count(server)) > 0:
        add_daves_tasks(server, missing)

    assert exported_rows(server, "csv") == daves_task_count(server)
    assert "WORKER TIMEOUT" not in server.web.log()
