"""Pausing live updates (WCAG 2.2.2), hidden tabs, and what the tab title says."""

from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from conftest import Stack
from e2e.conftest import launch, table_polls, wait_in_page

# Long enough for three polls at the busy cadence (1 s) to have gone out.
WATCH_MS = 3_200


def polls(page: Page) -> int:
    return sum(1 for p in table_polls(page) if "since=" in p["url"])


# Records when each poll tick is held back (after static/js/live.js said no), so a test
# can act just after one: a poll that follows sooner than the next tick is the refresh.
WATCH_HELD_TICKS = """() => {
    window.heldTicks = [];
    document.addEventListener('htmx:beforeRequest', event => {
        if (event.defaultPrevented && event.detail.elt.id === 'task-table')
            window.heldTicks.push(performance.now());
    });
}"""


def act_right_after_a_held_tick(page: Page, action: Callable[[], Any]) -> float:
    """Do `action` just after a held poll tick; return how long after that tick the
    next poll went out, in seconds (a tick alone would take the full poll period)."""
    ticks = page.evaluate("window.heldTicks.length")
    wait_in_page(page, lambda: page.evaluate("window.heldTicks.length") > ticks, 10, "a tick")
    held_at = page.evaluate("window.heldTicks[window.heldTicks.length - 1]")
    before = polls(page)
    action()
    wait_in_page(page, lambda: polls(page) > before, 5, "the next poll")
    sent_at = [p["start"] for p in table_polls(page) if "since=" in p["url"]][before]
    return float(sent_at - held_at) / 1000


def cancel_all(stack: Stack) -> None:
    for status in ("STARTED", "PENDING"):
        for task in httpx.get(f"{stack.url}/tasks/?status={status}").json()["tasks"]:
            httpx.post(f"{stack.url}{task['url']}cancel/")


def test_pause_stops_polls_and_resume_refreshes_at_once(page: Page, stack: Stack) -> None:
    page.goto("/")
    page.evaluate(WATCH_HELD_TICKS)
    launch(page, "Long")
    toggle = page.locator("#live-toggle")
    expect(toggle).to_have_text("Pause live updates")
    wait_in_page(page, lambda: polls(page) >= 2, 10, "busy polls")

    toggle.click()
    paused_at = polls(page)
    page.wait_for_timeout(WATCH_MS)  # a window in which polls would have happened

    assert polls(page) == paused_at
    expect(toggle).to_have_text("Resume live updates")
    expect(page.locator("#live-state")).to_have_text("Paused.")
    assert page.title().startswith("Paused")
    updated = page.locator("#live-updated").get_attribute("datetime")

    assert act_right_after_a_held_tick(page, toggle.click) < 0.6  # the next tick: 1 s
    expect(toggle).to_have_text("Pause live updates")
    expect(page.locator("#live-updated")).not_to_have_attribute("datetime", updated or "")
    cancel_all(stack)


def test_pause_is_remembered_by_the_tab_across_a_reload(page: Page, stack: Stack) -> None:
    page.goto("/")
    launch(page, "Long")
    page.locator("#live-toggle").click()

    page.reload()
    page.wait_for_timeout(WATCH_MS)

    assert polls(page) == 0
    expect(page.locator("#live-toggle")).to_have_text("Resume live updates")
    other = page.context.new_page()  # another tab starts live
    other.goto("/")
    expect(other.locator("#live-toggle")).to_have_text("Pause live updates")
    other.close()
    page.locator("#live-toggle").click()
    cancel_all(stack)


HIDE = """hidden => {
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
    Object.defineProperty(document, 'visibilityState',
                          {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
    document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_a_hidden_tab_sends_no_polls_and_refreshes_when_shown(page: Page, stack: Stack) -> None:
    page.goto("/")
    page.evaluate(WATCH_HELD_TICKS)
    launch(page, "Long")
    wait_in_page(page, lambda: polls(page) >= 2, 10, "busy polls")

    page.evaluate(HIDE, True)
    hidden_at = polls(page)
    page.wait_for_timeout(WATCH_MS)
    assert polls(page) == hidden_at

    assert act_right_after_a_held_tick(page, lambda: page.evaluate(HIDE, False)) < 0.6
    wait_in_page(page, lambda: table_polls(page)[-1]["status"] == 200, 5, "a new table")
    cancel_all(stack)


def test_the_tab_title_counts_running_and_failed_tasks_while_live(page: Page, stack: Stack) -> None:
    httpx.post(f"{stack.url}/tasks/", data={"type": "5"})
    stack.wait_until_idle()
    page.goto("/")
    launch(page, "Long")

    wait_in_page(page, lambda: "1 running" in page.title(), 10, "the running count in the title")
    assert "failed)" in page.title()
    assert page.title().endswith("Task dashboard")
    cancel_all(stack)
