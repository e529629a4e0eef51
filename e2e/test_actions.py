"""Steering from the browser: cancel, retry and delete, from the table and detail page."""

import re

import httpx
from playwright.sync_api import Dialog, Locator, Page, expect

from conftest import Stack
from e2e.conftest import launch, row_state, wait_for_row, wait_in_page


def button(page: Page, action: str, task_id: str) -> Locator:
    return page.get_by_role("button", name=f"{action} task {task_id[:8]}", exact=True)


def test_cancel_a_pending_and_a_running_task(page: Page, stack: Stack) -> None:
    stack.wait_until_idle()
    page.goto("/")
    running = [launch(page, "Long"), launch(page, "Long")]
    for task_id in running:
        wait_for_row(page, task_id, "STARTED")
    queued = launch(page, "Short")  # both worker processes are busy

    button(page, "Cancel", queued).click()
    wait_for_row(page, queued, "REVOKED", timeout=5)
    button(page, "Cancel", running[0]).click()
    wait_for_row(page, running[0], "REVOKED", timeout=5)

    expect(page.locator(f"#task-{queued} .status")).to_have_text("cancelled")
    expect(page.locator(f"#task-{running[0]}")).to_contain_text("stopped at")
    assert row_state(page, running[1])["status"] == "STARTED"
    httpx.post(f"{stack.url}/tasks/{running[1]}/cancel/")
    stack.wait_until_idle()
    assert row_state(page, queued)["status"] == "REVOKED"  # it never ran after all


def test_retry_a_failed_task_and_follow_the_links(page: Page) -> None:
    page.goto("/")
    failed = launch(page, "Failing")
    wait_for_row(page, failed, "FAILURE")

    button(page, "Retry", failed).click()
    retry = wait_in_page(
        page,
        lambda: (
            (first := page.locator("#task-table tbody tr").first.get_attribute("id"))
            and first != f"task-{failed}"
            and first.removeprefix("task-")
        ),
        10,
        "the retry's row",
    )
    page.goto(f"/tasks/{retry}/")

    expect(page.locator("#task-detail")).to_contain_text(re.compile(rf"Retry of\s*{failed[:8]}"))
    page.get_by_role("link", name=failed[:8]).click()
    expect(page).to_have_url(re.compile(f"/tasks/{failed}/$"))
    expect(page.locator("#task-detail")).to_contain_text(re.compile(rf"Retried as\s*{retry[:8]}"))


def test_retry_from_the_detail_page_opens_the_new_task(page: Page) -> None:
    page.goto("/")
    failed = launch(page, "Failing")
    wait_for_row(page, failed, "FAILURE")
    page.goto(f"/tasks/{failed}/")

    button(page, "Retry", failed).click()

    expect(page).not_to_have_url(re.compile(f"/tasks/{failed}/$"))
    expect(page.locator("#task-detail")).to_contain_text(re.compile(rf"Retry of\s*{failed[:8]}"))


def test_delete_a_finished_task_after_confirming(page: Page) -> None:
    page.goto("/")
    task_id = launch(page, "Instant")
    wait_for_row(page, task_id, "SUCCESS")
    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    button(page, "Delete", task_id).click()

    expect(page.locator(f"#task-{task_id}")).to_have_count(0)
    assert questions
    assert "Delete instant task" in questions[0]


def test_cancel_from_the_detail_page(page: Page, stack: Stack) -> None:
    page.goto("/")
    task_id = launch(page, "Long")
    page.goto(f"/tasks/{task_id}/")

    button(page, "Cancel", task_id).click()

    expect(page.locator("#task-detail [data-status]")).to_have_attribute("data-status", "REVOKED")
    expect(page.locator(".timeline li").last).to_contain_text("cancelled")
    stack.wait_until_idle()


def test_detail_page_shows_the_timeline_of_a_retried_task(page: Page) -> None:
    page.goto("/")
    task_id = launch(page, "Flaky")
    page.goto(f"/tasks/{task_id}/")

    expect(page.locator("#task-detail [data-status]")).to_have_attribute(
        "data-status", "SUCCESS", timeout=60_000
    )
    steps = page.locator(".timeline li .status").all_inner_texts()
    assert steps == [
        "pending", "running", "retrying", "running", "retrying", "running", "succeeded",
    ]  # fmt: skip
    expect(page.locator(".timeline")).to_contain_text("upstream unavailable (attempt 1)")
    expect(page.locator(".facts")).to_contain_text(re.compile(r"Attempts\s*3"))
    expect(page.get_by_role("link", name="This task in Flower")).to_have_attribute(
        "href", re.compile(f"/task/{task_id}$")
    )
