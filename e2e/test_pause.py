"""Pausing live updates (WCAG 2.2.2), hidden tabs, and what the tab title says."""

import time

import httpx
from playwright.sync_api import Page, expect

from conftest import Stack
from e2e.conftest import launch, table_polls, wait_in_page

# Long enough for three polls at the busy cadence (1 s) to have gone out.
WATCH_MS = 3_200


def polls(page: Page) -> int:
    return sum(1 for p in table_polls(page) if "since=" in p["url"])


def cancel_all(stack: Stack) -> None:
    for status in ("STARTED", "PENDING"):
        for task in httpx.get(f"{stack.url}/tasks/?status={status}").json()["tasks"]:
            httpx.post(f"{stack.url}{task['url']}cancel/")


def test_pause_stops_polls_and_resume_refreshes_at_once(page: Page, stack: Stack) -> None:
    page.goto("/")
    launch(page, "Long")
    toggle = page.locator("#live-toggle")
    expect(toggle).to_have_text("Pause live updates")
    wait_in_page(page, lambda: polls(page) >= 2, 10, "busy polls")

    toggle.click()
    paused_at = polls(page)
    page.wait_for_timeout(WATCH_MS)  # a window in which polls would have happened

    assert polls(page) == paused_at
    expect(toggle).to_have_text("Resume live updates")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#live-state")).to_have_text("Paused.")
    assert page.title().startswith("Paused")
    updated = page.locator("#live-updated").get_attribute("datetime")

    clicked = time.monotonic()
    with page.expect_request(lambda r: "since=" in r.url, timeout=2_000):
        toggle.click()
    assert time.monotonic() - clicked < 0.9  # sooner than the next 1 s tick could be
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
    launch(page, "Long")
    wait_in_page(page, lambda: polls(page) >= 2, 10, "busy polls")

    page.evaluate(HIDE, True)
    hidden_at = polls(page)
    page.wait_for_timeout(WATCH_MS)
    assert polls(page) == hidden_at

    shown = time.monotonic()
    with page.expect_request(lambda r: "since=" in r.url, timeout=2_000) as request:
        page.evaluate(HIDE, False)
    assert time.monotonic() - shown < 0.9
    assert request.value.response() is not None  # answered: the table is current again
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
