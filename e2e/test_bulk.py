"""Bulk actions in the browser (README "Bulk actions"): filter, tick a row from the
keyboard (the tick survives the live refresh), select all tasks matching, cancel,
confirm the count, and watch the progress line reach its summary; and the same with
JavaScript off: a plain form, a confirmation page, the job's page."""

import contextlib
import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import ROWS, table_polls, wait_in_page
from e2e.test_accessibility import serious_violations

PREFIX = "b0b0b0"  # every task of this test has an id starting so: the search finds them
WAITING, FINISHED = 2_500, 500

# Tasks scheduled an hour ahead (nothing publishes them meanwhile) and tasks that
# succeeded, straight into the database; ids from PREFIX on.
INSERT = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO tasks_taskrecord (
    task_id, kind, name, status, progress, attempts, submitted_at, updated_at, run_at,
    finished_at, error, traceback, worker, worker_instance
)
SELECT :prefix || lower(hex(randomblob(13))), 2, '', :status, 0, 0, now, now,
       CASE :status WHEN 'SCHEDULED' THEN strftime('%Y-%m-%d %H:%M:%f', 'now', '+1 hour') END,
       CASE :status WHEN 'SUCCESS' THEN now END, '', '', '', ''
FROM (SELECT i, strftime('%Y-%m-%d %H:%M:%f', 'now') AS now FROM n)
"""


@pytest.fixture
def prefixed_tasks(stack: Stack) -> None:
    if stack.env["DATABASE_URL"].startswith("postgres"):
        pytest.skip("fills the SQLite database directly")
    with contextlib.closing(stack.database()) as db:
        db.execute("PRAGMA busy_timeout = 20000")
        with db:
            db.execute(INSERT, {"count": WAITING, "prefix": PREFIX, "status": "SCHEDULED"})
            db.execute(INSERT, {"count": FINISHED, "prefix": PREFIX, "status": "SUCCESS"})


def test_select_all_matching_then_cancel_shows_progress_to_the_summary(
    page: Page, stack: Stack, prefixed_tasks: None
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/")
    page.get_by_label("ID starts with").fill(PREFIX)
    select_all = page.get_by_label("Select all 3 000 tasks matching this filter")
    expect(select_all).to_be_visible()

    # A row ticked from the keyboard, kept through a refresh that changes the table.
    first_box = page.locator(f"{ROWS} input[type=checkbox]").first
    first_box.focus()
    page.keyboard.press("Space")
    expect(first_box).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("(1)")
    polls_before = len(table_polls(page))
    httpx.post(f"{stack.url}/tasks/", data={"type": "0"})  # moves the counters
    wait_in_page(
        page,
        lambda: any(p["status"] == 200 for p in table_polls(page)[polls_before:]),
        15,
        "a poll that brought a changed table",
    )
    expect(first_box).to_be_checked()

    select_all.check()
    expect(page.locator(f"{ROWS} input[type=checkbox]:not(:checked)")).to_have_count(0)
    page.get_by_role("button", name="Cancel selected").click()

    status = page.locator("#bulk-status")
    expect(status).to_contain_text("Cancel 3 000 tasks matching the filter?")
    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "bulk-confirm.png")
    page.get_by_role("button", name="Cancel 3 000 tasks").click()

    lines: list[str] = []

    def summary_shown() -> bool:
        lines.append(status.inner_text().strip())
        return "Cancelled 2 500 of 3 000 tasks." in lines[-1]

    wait_in_page(page, summary_shown, 60, "the progress line to reach its summary")
    # On the way, the line said what it was doing ("Cancelling: 1 200 of 3 000 done").
    assert any(line.startswith("Cancelling") for line in lines), lines
    expect(status).to_contain_text("500 skipped: 500 already finished.")
    expect(page.locator(f"{ROWS}[data-status=SCHEDULED]")).to_have_count(0)
    expect(page.locator(f"{ROWS} input[type=checkbox]:checked")).to_have_count(0)
    assert serious_violations(page) == []

    page.screenshot(path=SCREENSHOTS / "bulk.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=SCREENSHOTS / "bulk-narrow.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_without_javascript_a_plain_form_confirms_then_shows_the_progress(
    browser: Browser, stack: Stack
) -> None:
    ids = [
        httpx.post(f"{stack.url}/tasks/", data={"type": "3", "countdown": "3600"}).json()["task_id"]
        for _ in range(2)
    ]
    context = browser.new_context(base_url=stack.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/?status=SCHEDULED")
    for task_id in ids:
        page.get_by_label(f"Select task {task_id[:8]}").check()

    page.get_by_role("button", name="Cancel selected").click()

    expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Cancel 2 tasks?")
    page.get_by_role("button", name="Cancel 2 tasks").click()
    expect(page).to_have_url(re.compile(r"/tasks/bulk/\d+/$"))

    def summary_shown() -> bool:
        page.reload()  # what the page's "Refresh" link does
        return "Cancelled 2 of 2 tasks." in page.locator("main").inner_text()

    wait_in_page(page, summary_shown, 30, "the job's page to show its summary")
    for task_id in ids:
        assert httpx.get(f"{stack.url}/tasks/{task_id}/").json()["task_status"] == "REVOKED"
    context.close()
