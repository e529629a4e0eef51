"""The live table's layout: steady columns, a 375 px phone, charts, and screenshots."""

from typing import Literal

import httpx
import pytest
from playwright.sync_api import Browser, Page

from conftest import SCREENSHOTS, Stack
from e2e.conftest import ROWS, launch, table_polls, wait_in_page
from e2e.test_accessibility import serious_violations


def tasks_of_every_kind(stack: Stack) -> None:
    for kind in ("5", "0", "6", "4"):
        httpx.post(f"{stack.url}/tasks/", data={"type": kind})
    stack.wait_until_idle()


def cancel_all(stack: Stack) -> None:
    for status in ("STARTED", "PENDING"):
        for task in httpx.get(f"{stack.url}/tasks/?status={status}").json()["tasks"]:
            httpx.post(f"{stack.url}{task['url']}cancel/")


def column_widths(page: Page) -> list[float]:
    return list(
        page.evaluate(
            "() => [...document.querySelectorAll('#task-table th')]"
            ".map(th => th.getBoundingClientRect().width)"
        )
    )


def test_columns_keep_their_widths_while_the_rows_change(page: Page, stack: Stack) -> None:
    tasks_of_every_kind(stack)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/")
    widths = [column_widths(page)]
    launch(page, "Short")
    launch(page, "Flaky")

    def changed_answers() -> int:
        return sum(1 for p in table_polls(page) if p["status"] == 200)

    for seen in range(1, 7):  # progress, status, results and run times all change
        wait_in_page(page, lambda: changed_answers() >= seen, 20, f"{seen} new tables")  # noqa: B023
        widths.append(column_widths(page))

    assert all(w == widths[0] for w in widths), widths
    cancel_all(stack)


def test_a_375_px_phone_reads_every_row_without_sideways_scrolling(
    page: Page, stack: Stack
) -> None:
    tasks_of_every_kind(stack)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/")
    task_id = launch(page, "Long")

    layout = page.evaluate(
        """id => {
            const scroller = document.querySelector('#task-table .table-scroll');
            const cancel = [...document.querySelectorAll('#task-' + id + ' button')]
                .find(b => b.textContent.startsWith('Cancel')).getBoundingClientRect();
            const labels = [...document.querySelectorAll('.chart text')]
                .map(t => t.getBoundingClientRect().height);
            return {scroll: scroller.scrollWidth - scroller.clientWidth,
                    page: document.documentElement.scrollWidth,
                    cancelRight: cancel.right, cancelWidth: cancel.width,
                    smallestLabel: Math.min(...labels)};
        }""",
        task_id,
    )

    assert layout["scroll"] <= 0, layout  # the table needs no sideways scrolling
    assert layout["page"] <= 375, layout
    assert 0 < layout["cancelRight"] <= 375, layout  # the action is on screen
    assert layout["cancelWidth"] >= 44, layout  # and big enough for a thumb
    assert layout["smallestLabel"] >= 10, layout  # chart text stays readable (px)
    cancel_all(stack)


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_live_dashboard_has_no_serious_axe_violations(
    page: Page, stack: Stack, width: int, scheme: Literal["light", "dark"]
) -> None:
    tasks_of_every_kind(stack)
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    page.goto("/")
    task_id = launch(page, "Long")
    page.locator(f"#task-{task_id} button", has_text="Cancel").focus()
    httpx.post(f"{stack.url}/tasks/", data={"type": "0"})
    page.locator("#live-new-rows").wait_for(state="visible", timeout=10_000)

    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"after-new-rows-held-{width}-{scheme}.png")
    page.locator("#live-toggle").click()  # the paused state too
    assert serious_violations(page) == []
    page.locator("#live-toggle").click()
    cancel_all(stack)


def test_screenshots_of_the_live_table_wide_narrow_and_dark(
    browser: Browser, base_url: str, stack: Stack
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for kind in ("5", "0", "6", "0"):
        httpx.post(f"{stack.url}/tasks/", data={"type": kind})
    stack.wait_until_idle()
    page = browser.new_page(base_url=base_url, viewport={"width": 1280, "height": 900})
    page.goto("/")
    for label in ("Long", "Long"):
        launch(page, label)
    wait_in_page(
        page,
        lambda: page.locator(f"{ROWS}[data-status=STARTED] progress:not([value='0'])").count() >= 2,
        30,
        "two running rows",
    )

    page.screenshot(path=SCREENSHOTS / "after-wide-light.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=SCREENSHOTS / "after-wide-dark.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=SCREENSHOTS / "after-narrow-dark.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.screenshot(path=SCREENSHOTS / "after-narrow-light.png", full_page=True)
    page.close()
    for task in httpx.get(f"{stack.url}/tasks/?status=STARTED").json()["tasks"]:
        httpx.post(f"{stack.url}{task['url']}cancel/")
