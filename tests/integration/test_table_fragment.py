"""The live table: one fragment for the whole table, answered cheaply when unchanged."""

import re

import httpx

from conftest import Stack
from tests.integration.conftest import submit, wait_for_status

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
