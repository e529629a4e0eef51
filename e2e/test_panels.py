"""Counters, the workers panel and the charts, updated by the same single poll."""

import re

from playwright.sync_api import Page, expect

from conftest import Stack
from e2e.conftest import launch, row_state, table_polls, wait_for_row, wait_in_page


def count(page: Page, status: str) -> int:
    return int(page.locator(f"#counters .status-{status} .count").inner_text())


def test_counters_update_within_the_table_poll(page: Page, stack: Stack) -> None:
    stack.wait_until_idle()
    page.goto("/")
    succeeded = count(page, "success")

    task_id = launch(page, "Short")
    wait_in_page(page, lambda: count(page, "started") == 1, 15, "1 running")
    wait_for_row(page, task_id, "SUCCESS")

    wait_in_page(page, lambda: count(page, "success") == succeeded + 1, 5, "one more success")
    assert count(page, "started") == 0
    # Everything came from polls of the one table URL (and the launch post).
    assert all(re.search(r"/tasks/(\?.*)?$", p["url"]) for p in table_polls(page))


def test_workers_panel_shows_the_worker(page: Page) -> None:
    page.goto("/")

    panel = page.locator("#workers")
    expect(panel).to_contain_text("worker@")
    expect(panel.locator("tbody tr").first.locator("td").nth(1)).to_have_text("2")
    expect(panel.get_by_role("link", name="Open Flower")).to_be_visible()


def test_charts_render_finished_tasks(page: Page, stack: Stack) -> None:
    page.goto("/")
    task_id = launch(page, "Instant")
    wait_for_row(page, task_id, "SUCCESS")

    wait_in_page(page, lambda: page.locator("#charts rect.bar-success").count() > 0, 10, "bars")
    expect(page.locator("#charts rect.bar-runtime").first).to_be_visible()
    expect(page.locator("#charts")).to_contain_text("instant")


def test_cpu_heavy_tasks_leave_the_table_poll_answering(page: Page, stack: Stack) -> None:
    stack.wait_until_idle()
    page.goto("/")
    burners = [launch(page, "Cpu-heavy"), launch(page, "Cpu-heavy")]
    for task_id in burners:
        wait_for_row(page, task_id, "STARTED")
    busy_from = page.evaluate("performance.now()")

    wait_in_page(
        page,
        lambda: any(row_state(page, t)["status"] == "SUCCESS" for t in burners),
        60,
        "a CPU-heavy task to finish",
    )
    busy_until = page.evaluate("performance.now()")

    polls = [p for p in table_polls(page) if busy_from <= p["start"] <= busy_until]
    # Both worker processes burned CPU all along, yet the table kept refreshing.
    assert len(polls) >= 2, polls
    assert all(p["status"] in (200, 204) for p in polls)
    stack.wait_until_idle()
