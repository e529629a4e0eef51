"""Later runs in a browser: a task launched "in N seconds" from its entry's form counts
down in the table, then runs; a scheduled task run now, or cancelled, from the page;
no serious axe findings on any of it, light or dark."""

import re
from typing import Literal

import httpx
import pytest
from playwright.sync_api import Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import newest_task_id, row_state, wait_for_row, wait_in_page
from e2e.test_accessibility import serious_violations

COUNTDOWN = re.compile(r"^in (\d+) s$")


def countdown_of(page: Page, task_id: str) -> int | None:
    """The seconds the row says are left, as the viewer reads them."""
    text = page.locator(f"#task-{task_id} .scheduled-for time").text_content(timeout=2000)
    match = COUNTDOWN.match((text or "").strip())
    return int(match[1]) if match else None


def test_a_task_launched_for_later_counts_down_then_runs(page: Page, stack: Stack) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stack.wait_until_idle()
    page.goto("/")
    before = newest_task_id(page)
    page.goto("/catalogue/short/")
    page.get_by_label("Seconds").fill("5")  # 2 s at the suite's time scale
    page.get_by_label("Countdown").fill("6")
    page.get_by_role("button", name="Launch", exact=True).click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#messages")).to_contain_text("Scheduled short task")
    task_id = str(
        wait_in_page(
            page,
            lambda: (new := newest_task_id(page)) != before and new,
            10,
            "the scheduled task's row",
        )
    )
    assert row_state(page, task_id)["status"] == "SCHEDULED"
    first = wait_in_page(page, lambda: countdown_of(page, task_id), 5, "a countdown")
    wait_in_page(
        page,
        lambda: (left := countdown_of(page, task_id)) is not None and left < first,
        5,
        "the countdown to go down",
    )
    expect(page.locator(f"#task-{task_id} .status")).to_have_text("scheduled")
    expect(page.locator("#counters .status-scheduled .count")).not_to_have_text("0")
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / "scheduled-countdown.png", full_page=True)

    wait_for_row(page, task_id, "STARTED", timeout=15)
    wait_for_row(page, task_id, "SUCCESS", timeout=30)
    task = httpx.get(f"{stack.url}/tasks/{task_id}/").json()
    assert task["started_at"] >= task["run_at"]


def schedule(stack: Stack, seconds: int) -> str:
    response = httpx.post(
        f"{stack.url}/tasks/", json={"type": "instant", "params": {}, "countdown": seconds}
    )
    return str(response.json()["task_id"])


def test_a_scheduled_task_is_run_now_from_its_row(page: Page, stack: Stack) -> None:
    task_id = schedule(stack, 600)
    page.goto("/")
    wait_for_row(page, task_id, "SCHEDULED", timeout=10)

    page.get_by_role("button", name=f"Run now task {task_id[:8]}").click()

    wait_for_row(page, task_id, "SUCCESS", timeout=20)
    expect(page.locator("#messages")).to_contain_text("now, ahead of its time")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_scheduled_task_is_cancelled_from_its_page(
    page: Page, stack: Stack, scheme: Literal["light", "dark"]
) -> None:
    task_id = schedule(stack, 600)
    page.emulate_media(color_scheme=scheme)
    page.goto(f"/tasks/{task_id}/")
    expect(page.locator("#task-detail .facts .status")).to_have_text("scheduled")
    assert serious_violations(page) == []
    if scheme == "light":
        page.screenshot(path=SCREENSHOTS / "scheduled-detail.png", full_page=True)

    page.get_by_role("button", name=f"Cancel task {task_id[:8]}").click()

    expect(page.locator("#task-detail .facts .status")).to_have_text("cancelled")
    expect(page.locator("#task-detail .timeline")).to_contain_text("cancelled before its time")
