"""Pausing a queue in the page: its task waits, and says so, until the queue resumes."""

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import launch, row_state, wait_for_row
from e2e.test_accessibility import serious_violations


@pytest.fixture
def cpu_queue_resumed_after(stack: Stack) -> Iterator[None]:
    yield
    httpx.post(f"{stack.url}/queues/cpu/resume/")


def test_a_queue_paused_in_the_page_holds_its_task_until_resumed(
    page: Page, stack: Stack, cpu_queue_resumed_after: None
) -> None:
    page.goto("/")
    cpu_row = page.locator("#queue-cpu")
    consumers = cpu_row.locator(".consumers")
    expect(consumers).to_have_text("1 consumer", timeout=15_000)

    page.get_by_role("button", name="Pause queue cpu").click()

    expect(cpu_row).to_have_attribute("data-paused", "true")
    expect(page.locator("#messages")).to_contain_text("Paused queue cpu")
    # The worker reports on its next heartbeat that it no longer takes from it.
    expect(consumers).to_have_text("0 consumers", timeout=15_000)
    waiting = launch(page, "CPU-heavy")
    ran = launch(page, "Instant")
    wait_for_row(page, ran, "SUCCESS")
    expect(page.locator(f"#task-{waiting}")).to_contain_text("waiting: queue cpu is paused")
    assert row_state(page, waiting)["status"] == "PENDING"
    expect(cpu_row.locator(".waiting")).to_have_text("1 waiting")  # its message, in Redis
    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#workers").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "queue-paused.png", full_page=True)

    page.get_by_role("button", name="Resume queue cpu").click()

    expect(cpu_row).to_have_attribute("data-paused", "false")
    wait_for_row(page, waiting, "SUCCESS", timeout=60)
    expect(page.locator(f"#task-{waiting}")).not_to_contain_text("waiting: queue")
    page.goto("/queues/")
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / "queues-page.png", full_page=True)


def test_the_queue_buttons_work_without_javascript(
    browser: Browser, base_url: str, stack: Stack, cpu_queue_resumed_after: None
) -> None:
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/queues/")
        page.get_by_role("button", name="Pause queue cpu").click()

        expect(page).to_have_url(f"{base_url}/queues/")
        expect(page.locator("#queue-cpu")).to_have_attribute("data-paused", "true")
        expect(page.locator("#messages")).to_contain_text("Paused queue cpu")

        page.get_by_role("button", name="Resume queue cpu").click()

        expect(page.locator("#queue-cpu")).to_have_attribute("data-paused", "false")
    finally:
        context.close()
