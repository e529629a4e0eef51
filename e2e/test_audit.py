"""The audit trail in the browser: a few actions on the dashboard, then /audit/ lists
them, newest first, and its filters narrow the list."""

import re
from collections.abc import Iterator
from typing import Literal

import httpx
import pytest
from playwright.sync_api import Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import launch, wait_for_row
from e2e.test_accessibility import serious_violations

ENTRIES = "#audit-entries tbody tr"


@pytest.fixture
def cpu_queue_resumed_after(stack: Stack) -> Iterator[None]:
    yield
    httpx.post(f"{stack.url}/queues/cpu/resume/")


def test_actions_in_the_dashboard_are_listed_and_filtered_in_the_audit_trail(
    page: Page, stack: Stack, cpu_queue_resumed_after: None
) -> None:
    page.goto("/")
    cancelled = launch(page, "Long")
    wait_for_row(page, cancelled, "STARTED")
    page.get_by_role("button", name=f"Cancel task {cancelled[:8]}").click()
    wait_for_row(page, cancelled, "REVOKED")
    page.get_by_role("button", name="Pause queue cpu").click()
    expect(page.locator("#messages")).to_contain_text("Paused queue cpu")
    page.get_by_role("button", name="Resume queue cpu").click()
    expect(page.locator("#messages")).to_contain_text("Resumed queue cpu")

    page.get_by_role("link", name="Audit").click()

    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    newest = [row.get_attribute("data-action") for row in page.locator(ENTRIES).all()[:4]]
    assert newest == ["queue.resume", "queue.pause", "task.cancel", "task.launch"]
    expect(page.locator(ENTRIES).nth(2)).to_contain_text(cancelled[:8])
    expect(page.locator(ENTRIES).nth(2)).to_contain_text("browser (htmx)")
    expect(page.locator(ENTRIES).nth(2)).to_contain_text("127.0.0.1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "audit.png", full_page=True)

    page.get_by_label("Action").select_option("task.cancel")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"/audit/\?action=task\.cancel&"))
    actions = {row.get_attribute("data-action") for row in page.locator(ENTRIES).all()}
    assert actions == {"task.cancel"}

    page.locator(ENTRIES).first.get_by_role("link", name=cancelled[:8]).click()

    expect(page.get_by_label("Task id")).to_have_value(cancelled)
    listed = [row.get_attribute("data-action") for row in page.locator(ENTRIES).all()]
    assert listed == ["task.cancel", "task.launch"]
    page.screenshot(path=SCREENSHOTS / "audit-filtered.png", full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_audit_trail_has_no_serious_axe_violations(
    page: Page, stack: Stack, scheme: Literal["light", "dark"]
) -> None:
    httpx.post(f"{stack.url}/tasks/", data={"type": "0"})
    page.emulate_media(color_scheme=scheme)
    page.goto("/audit/")
    expect(page.locator(ENTRIES).first).to_be_visible()

    assert serious_violations(page) == []
