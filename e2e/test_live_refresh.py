"""The live table refreshes under a reader without taking anything away from them:
focus, text selection, scroll positions, and the row they are looking at."""

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from conftest import Stack
from e2e.conftest import ROWS, launch, table_polls, wait_for_row, wait_in_page


def refreshes(page: Page) -> int:
    """Polls answered with a new table (200), as the browser saw them."""
    return sum(1 for p in table_polls(page) if "since=" in p["url"] and p["status"] == 200)


def wait_for_refreshes(page: Page, count: int, timeout: float = 20) -> None:
    start = refreshes(page)
    wait_in_page(page, lambda: refreshes(page) >= start + count, timeout, f"{count} refreshes")


def focused(page: Page) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => {
                const el = document.activeElement;
                const row = el.closest('tr[id]');
                return {tag: el.tagName, text: el.textContent.trim(), row: row && row.id,
                        same: el === window.markedElement};
            }"""
        )
    )


def cancel_all(stack: Stack) -> None:
    for status in ("STARTED", "PENDING"):
        for task in httpx.get(f"{stack.url}/tasks/?status={status}").json()["tasks"]:
            httpx.post(f"{stack.url}{task['url']}cancel/")


def test_focus_stays_on_a_rows_cancel_across_five_refreshes(page: Page, stack: Stack) -> None:
    page.goto("/")
    older = launch(page, "Long")
    launch(page, "Long")
    cancel = page.locator(f"#task-{older} button", has_text="Cancel")
    cancel.focus()
    page.evaluate("window.markedElement = document.activeElement")

    wait_for_refreshes(page, 5)

    now = focused(page)
    assert now["same"], now  # the very node, not a look-alike
    assert now["row"] == f"task-{older}"
    assert now["text"].startswith("Cancel")
    cancel_all(stack)


def test_enter_on_a_focused_cancel_cancels_that_task_and_launches_nothing(
    page: Page, stack: Stack
) -> None:
    page.goto("/")
    task_id = launch(page, "Long")
    wait_for_row(page, task_id, "STARTED")
    total = stack.fetch("SELECT count(*) FROM tasks_taskrecord")[0][0]
    page.locator(f"#task-{task_id} button", has_text="Cancel").focus()
    wait_for_refreshes(page, 2)

    page.keyboard.press("Enter")

    wait_for_row(page, task_id, "REVOKED", timeout=10)
    assert stack.fetch("SELECT count(*) FROM tasks_taskrecord")[0][0] == total
    # Focus lands on the row itself (its id link), not on whatever replaced Cancel.
    wait_in_page(page, lambda: focused(page)["tag"] == "A", 5, "focus on the row's link")
    assert focused(page)["row"] == f"task-{task_id}"
    polled = len(table_polls(page))
    wait_in_page(page, lambda: len(table_polls(page)) > polled + 1, 15, "two more polls")
    assert focused(page)["row"] == f"task-{task_id}"
    cancel_all(stack)


def test_text_selection_and_both_scroll_positions_survive_refreshes(
    page: Page, stack: Stack
) -> None:
    # Wide enough for the columns, too narrow for the whole table: it scrolls sideways.
    page.set_viewport_size({"width": 700, "height": 500})
    page.goto("/")
    task_id = launch(page, "Long")
    launch(page, "Long")
    page.evaluate(
        """id => {
            const scroller = document.querySelector('#task-table .table-scroll');
            scroller.scrollLeft = 150;
            window.scrollTo(0, 200);
            const range = document.createRange();
            range.selectNodeContents(document.querySelector('#task-' + id + ' code'));
            getSelection().removeAllRanges();
            getSelection().addRange(range);
        }""",
        task_id,
    )
    before = page.evaluate(
        """() => ({left: document.querySelector('#task-table .table-scroll').scrollLeft,
                   top: window.scrollY, selected: getSelection().toString()})"""
    )
    assert (before["left"], before["top"]) == (150, 200)
    assert len(before["selected"]) == 8  # the short id

    wait_for_refreshes(page, 3)

    after = page.evaluate(
        """() => ({left: document.querySelector('#task-table .table-scroll').scrollLeft,
                   top: window.scrollY, selected: getSelection().toString()})"""
    )
    assert after == before
    cancel_all(stack)


def test_new_rows_wait_while_the_reader_is_in_the_table(page: Page, stack: Stack) -> None:
    page.goto("/")
    task_id = launch(page, "Long")
    row = page.locator(f"#task-{task_id}")
    row.locator("button", has_text="Cancel").focus()
    y = row.bounding_box()["y"]  # type: ignore[index]

    new = [httpx.post(f"{stack.url}/tasks/", data={"type": "1"}).json()["task_id"] for _ in "abc"]

    notice = page.locator("#live-new-rows")
    expect(notice).to_have_text("3 new tasks: show", timeout=10_000)
    assert row.bounding_box()["y"] == y  # type: ignore[index]
    assert focused(page)["row"] == f"task-{task_id}"
    assert page.locator(ROWS).first.get_attribute("id") == f"task-{task_id}"

    notice.click()

    wait_in_page(
        page,
        lambda: all(page.locator(f"#task-{i}").count() for i in new),
        10,
        "the three new rows",
    )
    expect(notice).to_be_hidden()
    cancel_all(stack)


def test_an_action_acts_on_the_row_aimed_at_even_when_rows_move(page: Page, stack: Stack) -> None:
    page.goto("/")
    aimed = launch(page, "Long")
    wait_for_row(page, aimed, "STARTED")
    button = page.locator(f"#task-{aimed} button", has_text="Cancel")
    button.focus()
    for _ in range(2):  # rows arrive above it meanwhile (held while focus is in the table)
        httpx.post(f"{stack.url}/tasks/", data={"type": "0"})
    expect(page.locator("#live-new-rows")).to_be_visible(timeout=10_000)

    button.click()

    wait_for_row(page, aimed, "REVOKED", timeout=10)
    statuses = httpx.get(f"{stack.url}/tasks/?status=REVOKED").json()["tasks"]
    assert [t["task_id"] for t in statuses][:1] == [aimed]
    cancel_all(stack)


def test_tab_walks_down_the_rows_while_they_refresh(page: Page, stack: Stack) -> None:
    page.goto("/")
    for _ in range(3):
        launch(page, "Long")
    ids = [(row.get_attribute("id") or "") for row in page.locator(ROWS).all()][:3]
    page.locator(f"#{ids[0]} a").first.focus()

    rows_visited = []
    # From the first row's link: its Cancel, then the next row's selection box, link
    # and Cancel, then the third row's box; one refresh between each key.
    for _ in range(5):
        wait_for_refreshes(page, 1)
        page.keyboard.press("Tab")
        rows_visited.append(focused(page)["row"])

    assert rows_visited == [ids[0], ids[1], ids[1], ids[1], ids[2]]
    cancel_all(stack)
