"""The metrics pages in a real browser, light and dark: charts drawn, the window
picker, the numbers behind the charts, axe with no serious finding; screenshots."""

from typing import Literal

import httpx
import pytest
from playwright.sync_api import Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.test_accessibility import serious_violations

MIX = ["0"] * 6 + ["1", "1", "5", "4", "4", "6"]  # instant, short, failing, cpu, flaky


@pytest.fixture(scope="module")
def finished_tasks(stack: Stack) -> None:
    for kind in MIX:
        httpx.post(f"{stack.url}/tasks/", data={"type": kind})
    stack.wait_until_idle(timeout=90)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_metrics_pages_draw_their_charts_and_read_well_in_both_schemes(
    page: Page, finished_tasks: None, scheme: Literal["light", "dark"]
) -> None:
    page.emulate_media(color_scheme=scheme)
    page.goto("/")
    page.get_by_role("link", name="Metrics", exact=True).click()
    expect(page.get_by_role("heading", name="Metrics")).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_role("link", name="Queue default").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Queue default")
    charts = page.get_by_role("img")
    expect(charts).to_have_count(3)
    expect(page.locator("svg.chart rect.bar-success").first).to_be_visible()
    expect(page.locator("svg.chart polyline.line-p50").first).to_be_attached()
    # The day window is the default; the picker moves to the hour and says where it is.
    page.get_by_role("link", name="Last hour").click()
    expect(page.get_by_role("link", name="Last hour")).to_have_attribute("aria-current", "page")
    page.get_by_text("The numbers per minute").click()
    expect(page.locator(".metrics-numbers table tbody tr").first).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / f"metrics-{scheme}.png", full_page=True)
