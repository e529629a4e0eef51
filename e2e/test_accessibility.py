"""Accessibility (axe-core, keyboard, live announcements) and the screenshots."""

from typing import Literal

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import ROWS, launch, newest_task_id, wait_in_page


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']}: "
        + "; ".join(f"{n['target']} {n.get('failureSummary', '')}" for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def tasks_in_every_state(stack: Stack) -> None:
    for kind in ("5", "0", "6"):
        httpx.post(f"{stack.url}/tasks/", data={"type": kind})
    stack.wait_until_idle()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_dashboard_and_detail_have_no_serious_axe_violations(
    page: Page, stack: Stack, scheme: Literal["light", "dark"]
) -> None:
    tasks_in_every_state(stack)
    page.emulate_media(color_scheme=scheme)
    page.goto("/")
    launch(page, "Long")

    assert serious_violations(page) == []
    page.locator(f"{ROWS} a").first.click()
    expect(page.locator("#task-detail")).to_be_visible()
    assert serious_violations(page) == []
    failed = httpx.get(f"{stack.url}/tasks/?status=FAILURE").json()["tasks"][0]
    page.goto(failed["url"])
    assert serious_violations(page) == []
    stack.wait_until_idle(timeout=60)


def test_a_task_can_be_launched_from_the_keyboard_and_is_announced(page: Page) -> None:
    page.goto("/")
    before = newest_task_id(page)

    # Tab past the header links to the first launch button, as a keyboard user would.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "type":
            break
    focused = page.evaluate("document.activeElement.textContent").strip()
    page.keyboard.press("Enter")

    wait_in_page(page, lambda: newest_task_id(page) != before, 10, "a new row")
    assert focused.startswith("Instant")
    expect(page.locator("#announcer")).to_contain_text("succeeded", timeout=15_000)


def test_screenshots_of_the_dashboard_and_a_detail_page(
    browser: Browser, base_url: str, stack: Stack
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tasks_in_every_state(stack)
    page = browser.new_page(base_url=base_url, viewport={"width": 1280, "height": 900})
    page.goto("/")
    for label in ("Medium", "Long", "Short"):  # the third waits: two worker processes
        launch(page, label)
    wait_in_page(
        page,
        lambda: (
            page.locator(f"{ROWS}[data-status=PENDING]").count()
            and page.locator(f"{ROWS}[data-status=STARTED] progress:not([value='0'])").count() >= 2
        ),
        30,
        "pending and running rows at once",
    )

    page.screenshot(path=SCREENSHOTS / "dashboard-wide-light.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=SCREENSHOTS / "dashboard-wide-dark.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=SCREENSHOTS / "dashboard-narrow-dark.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.screenshot(path=SCREENSHOTS / "dashboard-narrow-light.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    failed = httpx.get(f"{stack.url}/tasks/?status=FAILURE").json()["tasks"][0]
    page.goto(failed["url"])
    page.screenshot(path=SCREENSHOTS / "task-detail-failed.png", full_page=True)
    page.close()

    names = sorted(p.name for p in SCREENSHOTS.glob("*.png"))
    assert {
        "dashboard-wide-light.png",
        "dashboard-narrow-dark.png",
        "task-detail-failed.png",
    } <= set(names)
    for task in httpx.get(f"{stack.url}/tasks/?status=STARTED").json()["tasks"]:
        httpx.post(f"{stack.url}{task['url']}cancel/")
    for task in httpx.get(f"{stack.url}/tasks/?status=PENDING").json()["tasks"]:
        httpx.post(f"{stack.url}{task['url']}cancel/")


def test_pages_fit_a_375_px_phone_without_sideways_scrolling(page: Page, stack: Stack) -> None:
    tasks_in_every_state(stack)
    page.set_viewport_size({"width": 375, "height": 800})
    failed = httpx.get(f"{stack.url}/tasks/?status=FAILURE").json()["tasks"][0]

    widths = {}
    for path in ("/", failed["url"]):
        page.goto(path)
        widths[path] = page.evaluate("document.documentElement.scrollWidth")

    # Neither the page nor the task table (stacked rows below 40rem) scrolls sideways.
    assert all(width <= 375 for width in widths.values()), widths
