"""A person at the dashboard: launch tasks, watch the table update by itself."""

import itertools
import re
import statistics
from typing import Any

from playwright.sync_api import Browser, Page, expect

from conftest import Stack
from e2e.conftest import launch, newest_task_id, row_state, table_polls, wait_in_page


def test_short_task_runs_to_success_with_a_moving_progress_bar(page: Page) -> None:
    page.goto("/")
    page.evaluate("window.notReloaded = true")

    task_id = launch(page, "Short")
    statuses: list[str] = []
    progress: list[int] = []

    def finished() -> bool:
        row = row_state(page, task_id)
        if not statuses or statuses[-1] != row["status"]:
            statuses.append(row["status"])
        if row["progress"] is not None:
            progress.append(row["progress"])
        return bool(row["status"] == "SUCCESS")

    wait_in_page(page, finished, 40, "the short task to succeed")

    assert statuses[0] in ("PENDING", "STARTED")
    assert "STARTED" in statuses
    assert statuses[-1] == "SUCCESS"
    assert len({p for p in progress if 0 < p < 100}) >= 2, progress  # it moved
    assert progress == sorted(progress)
    expect(page.locator(f"#task-{task_id} .status")).to_have_text("succeeded")
    assert page.evaluate("window.notReloaded") is True  # no full page load happened


def test_table_polls_once_a_second_while_busy_and_every_5_s_when_idle(
    page: Page, stack: Stack
) -> None:
    stack.wait_until_idle()
    page.goto("/")

    idle = wait_in_page(page, lambda: len(p := table_polls(page)) >= 2 and p, 20, "2 idle polls")
    launch(page, "Long")
    busy_from = len(table_polls(page))
    busy = wait_in_page(
        page,
        lambda: len(p := table_polls(page)[busy_from:]) >= 6 and p,
        20,
        "6 busy polls",
    )

    def gaps(polls: list[dict[str, Any]]) -> list[float]:
        starts = [p["start"] / 1000 for p in polls if "/tasks/?since=" in p["url"]]
        return [b - a for a, b in itertools.pairwise(starts)]

    # Idle: one request per 5 s, each answered 204 without a body.
    assert all(gap >= 4.9 for gap in gaps(idle)), gaps(idle)
    assert all(p["status"] == 204 for p in idle), idle
    # Busy: about one request a second, all for the whole table (one URL).
    assert all(gap >= 0.9 for gap in gaps(busy)), gaps(busy)
    assert statistics.median(gaps(busy)) < 2.0, gaps(busy)
    assert all(re.search(r"/tasks/(\?since=.*)?$", p["url"]) for p in busy), busy
    stack.wait_until_idle()


def test_dashboard_works_with_javascript_off(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    page = context.new_page()
    page.goto("/")
    before = newest_task_id(page)

    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^Instant")).click()

    assert page.url == f"{base_url}/"
    assert newest_task_id(page) not in (None, before)
    context.close()


def test_detail_page_follows_its_task_live(page: Page) -> None:
    page.goto("/")
    task_id = launch(page, "Short")

    page.goto(f"/tasks/{task_id}/")

    expect(page.get_by_role("heading", level=1)).to_contain_text(task_id)
    expect(page.locator("#task-detail [data-status]")).to_have_attribute(
        "data-status", "SUCCESS", timeout=30_000
    )
    expect(page.locator("#task-detail")).to_contain_text("slept_seconds: 4.0")
    expect(page.locator(".timeline li")).to_have_count(3)  # pending, running, succeeded
