"""The live table: one fragment for the whole table, answered cheaply when unchanged."""

import re
from typing import Any

import httpx

from conftest import Stack
from tests.integration.conftest import submit, wait_for_status
from webapp.tasks.models import FinishedMinute

HTMX = {"HX-Request": "true"}


def poll_url(fragment: str) -> str:
    match = re.search(r'hx-get="([^"]+)"', fragment)
    assert match, fragment[:300]
    return match.group(1)


def poll_seconds(fragment: str) -> str:
    match = re.search(r'hx-trigger="every ([0-9.]+)s[,"]', fragment)  # then ', refresh'
    assert match, fragment[:300]
    return match.group(1)


def test_one_fragment_holds_every_visible_task(client: httpx.Client) -> None:
    ids = [submit(client, 0)["task_id"] for _ in range(3)]
    for task_id in ids:
        wait_for_status(client, task_id, "SUCCESS")

    fragment = client.get("/tasks/", headers=HTMX)

    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="task-table"')
    assert "<html" not in fragment.text
    for task_id in ids:
        assert f'id="task-{task_id}"' in fragment.text
    # The fragment polls its own URL, the collection, never a per-task URL.
    assert poll_url(fragment.text).startswith("/tasks/?since=")


def test_unchanged_table_is_answered_with_204_and_no_body(
    client: httpx.Client, stack: Stack
) -> None:
    wait_for_status(client, submit(client, 0)["task_id"], "SUCCESS")
    stack.wait_until_idle()
    fragment = client.get("/tasks/", headers=HTMX).text

    again = client.get(poll_url(fragment), headers=HTMX)

    assert again.status_code == 204
    assert again.content == b""


def test_table_polls_fast_while_active_and_slowly_when_idle(
    client: httpx.Client, stack: Stack
) -> None:
    stack.wait_until_idle()
    idle = client.get("/tasks/", headers=HTMX).text
    task_id = submit(client, 1)["task_id"]

    active = client.get(poll_url(idle), headers=HTMX)

    assert poll_seconds(idle) == "5"
    assert active.status_code == 200  # a new task changed the table
    assert f'id="task-{task_id}"' in active.text
    assert poll_seconds(active.text) == "1"
    wait_for_status(client, task_id, "SUCCESS")


def test_responses_vary_by_the_headers_that_pick_their_form(
    client: httpx.Client,
) -> None:
    response = client.get("/tasks/")

    vary = {v.strip() for v in response.headers["Vary"].split(",")}
    assert {"Accept", "HX-Request"} <= vary


def test_dashboard_page_embeds_the_table_and_the_launch_buttons(
    client: httpx.Client,
) -> None:
    page = client.get("/", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert 'id="task-table"' in page.text
    for kind in "0123":
        assert f'name="type" value="{kind}"' in page.text


# A GROUP BY over the finished rows; a zero run time is 0 on SQLite (microseconds),
# an interval on PostgreSQL.
# A task published elsewhere (no kind) is counted under FinishedMinute.ELSEWHERE.
ROWS_SUMMED = (
    "SELECT coalesce(kind, {elsewhere}) AS k, status, count(*), "
    "count(run_time), coalesce(sum(run_time), {zero}) "
    "FROM tasks_taskrecord WHERE status IN ('SUCCESS', 'FAILURE', 'REVOKED') "
    "AND finished_at IS NOT NULL GROUP BY k, status"
)


def rollups_and_rows(stack: Stack) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """Everyone's per-minute rollup summed per kind and outcome, and the same from a
    GROUP BY over the rows: compared on the database itself, SQLite or PostgreSQL."""
    kept = stack.fetch(
        "SELECT kind, status, sum(count), sum(timed), sum(run_time) FROM tasks_finishedminute "
        "WHERE owner_id = 0 AND count > 0 GROUP BY kind, status"
    )
    postgres = stack.env["DATABASE_URL"].startswith("postgres")
    real = stack.fetch(
        ROWS_SUMMED.format(
            zero="interval '0'" if postgres else "0", elsewhere=FinishedMinute.ELSEWHERE
        )
    )
    return {tuple(row) for row in kept}, {tuple(row) for row in real}


def test_the_charts_rollup_matches_the_rows_through_finish_cancel_and_clear(
    client: httpx.Client, stack: Stack
) -> None:
    for kind in (0, 0, 1, 5):  # instant, short, failing
        submit(client, kind)
    cancelled = submit(client, 3)["task_id"]
    client.post(f"/tasks/{cancelled}/cancel/")
    wait_for_status(client, cancelled, "REVOKED")
    stack.wait_until_idle()

    kept, real = rollups_and_rows(stack)
    assert kept == real
    assert {(row[0], row[1]) for row in real} >= {(0, "SUCCESS"), (3, "REVOKED")}

    assert client.post("/tasks/clear/").status_code == 200
    kept, real = rollups_and_rows(stack)
    assert kept == real == set()
