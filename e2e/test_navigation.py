"""Filters, search and paging live in the URL, and the live refresh keeps them."""

import re

import httpx
from playwright.sync_api import Page, expect

from conftest import PAGE_SIZE, Stack
from e2e.conftest import ROWS, launch, visible_ids, wait_in_page


def statuses(page: Page) -> set[str]:
    return {row.get_attribute("data-status") or "" for row in page.locator(ROWS).all()}


def test_filter_keeps_refreshing_and_the_back_button_undoes_it(page: Page, stack: Stack) -> None:
    httpx.post(f"{stack.url}/tasks/", data={"type": "5"})
    httpx.post(f"{stack.url}/tasks/", data={"type": "0"})
    stack.wait_until_idle()
    page.goto("/")

    page.get_by_role("combobox", name="Status").select_option("FAILURE")
    expect(page).to_have_url(re.compile(r"\?status=FAILURE$"))
    wait_in_page(page, lambda: statuses(page) == {"FAILURE"}, 10, "only failed rows")
    new = launch(page, "Failing")  # pending at first: not a failed task yet

    wait_in_page(page, lambda: new in visible_ids(page), 30, "the new failure to show up")
    assert statuses(page) == {"FAILURE"}
    page.go_back()
    expect(page).to_have_url(f"{stack.url}/")
    wait_in_page(page, lambda: len(statuses(page)) > 1, 10, "unfiltered rows again")


def test_search_by_id_prefix(page: Page, stack: Stack) -> None:
    task_id = httpx.post(f"{stack.url}/tasks/", data={"type": "0"}).json()["task_id"]
    page.goto("/")

    page.get_by_label("ID starts with").fill(task_id[:6])

    expect(page).to_have_url(re.compile(f"q={task_id[:6]}"))
    wait_in_page(page, lambda: visible_ids(page) == [task_id], 10, "just the searched task")


def test_older_page_stays_put_while_new_tasks_arrive(page: Page, stack: Stack) -> None:
    for _ in range(2 * PAGE_SIZE):
        httpx.post(f"{stack.url}/tasks/", data={"type": "0"})
    stack.wait_until_idle()
    page.goto("/")

    page.get_by_role("link", name="Older →").click()
    expect(page).to_have_url(re.compile(r"\?before=\d+$"))
    wait_in_page(page, lambda: len(visible_ids(page)) == PAGE_SIZE, 10, "a full older page")
    older = visible_ids(page)
    succeeded = page.locator("#counters .status-success .count")
    before = int(succeeded.inner_text())
    for _ in range(3):
        httpx.post(f"{stack.url}/tasks/", data={"type": "0"})
    wait_in_page(page, lambda: int(succeeded.inner_text()) >= before + 3, 20, "counters to move")

    assert visible_ids(page) == older
    page.get_by_role("link", name="Newest").click()
    expect(page).to_have_url(f"{stack.url}/")
