"""Periodic schedules in a browser, with a real `celery beat`: a schedule made in the
page's form (after refusing a bad value next to its field) has its runs appear, each
linked back; disable, run now and delete work, with JavaScript and without; axe finds
nothing serious."""

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import SCREENSHOTS, Service, Stack, start_beat
from e2e.conftest import wait_in_page
from e2e.test_accessibility import serious_violations


@pytest.fixture(scope="module")
def beat(stack: Stack) -> Iterator[Service]:
    service = start_beat(stack, max_interval=1)
    try:
        yield service
    finally:
        service.stop()
        for schedule in httpx.get(f"{stack.url}/schedules/").json()["schedules"]:
            httpx.post(f"{stack.url}{schedule['url']}delete/")
        stack.wait_until_idle()


def runs_listed(page: Page) -> int:
    page.reload()
    return page.locator("ul.runs li").count()


def test_a_schedule_made_in_the_page_runs_and_links_its_runs(
    page: Page, stack: Stack, beat: Service
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto("/")
    page.get_by_role("link", name="Schedules").click()
    expect(page.get_by_role("heading", name="Schedules", exact=True)).to_be_visible()
    page.get_by_label("Task").select_option("short")
    page.get_by_role("button", name="Show its parameters").click()
    page.get_by_label("Seconds").fill("1")
    every = page.get_by_label("Every")
    every.fill("0")
    page.get_by_role("button", name="Add schedule").click()

    expect(page.locator("#schedule-every-error")).to_contain_text("whole number from 1")
    expect(every).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Seconds")).to_have_value("1")  # what was typed stays
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / "schedules-form-error.png", full_page=True)

    every.fill("2")
    page.get_by_role("button", name="Add schedule").click()

    expect(page).to_have_url(re.compile(r"/schedules/$"))
    expect(page.locator("#messages")).to_contain_text("Added schedule")
    row = page.locator("table.schedules tbody tr").first
    expect(row).to_contain_text("every 2 seconds")
    expect(row).to_contain_text("seconds=1")
    row.get_by_role("link").first.click()
    wait_in_page(page, lambda: runs_listed(page) >= 2, 40, "two runs listed on the schedule")
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / "schedule-detail.png", full_page=True)
    schedule_url = page.url

    page.locator("ul.runs a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Short task"))).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^schedule \d+$")).click()
    expect(page).to_have_url(schedule_url)

    page.get_by_role("button", name=re.compile("^Disable")).first.click()
    expect(page.locator("#messages")).to_contain_text("Disabled schedule")
    expect(page.locator("h1 .badge")).to_have_text("disabled")
    page.goto("/schedules/")
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / "schedules.png", full_page=True)


def test_run_now_and_delete_work_with_javascript_off(
    browser: Browser, stack: Stack, beat: Service
) -> None:
    context = browser.new_context(base_url=stack.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/schedules/")
    page.get_by_label("Or cron").fill("0 3 * * *")
    page.get_by_role("button", name="Add schedule").click()
    expect(page.locator("#messages")).to_contain_text("Added schedule")
    row = page.locator("table.schedules tbody tr", has_text="0 3 * * *")
    schedule_id = (row.get_attribute("id") or "").removeprefix("schedule-")

    row.get_by_role("button", name=re.compile("^Run now")).click()

    expect(page).to_have_url(re.compile(rf"/schedules/{schedule_id}/$"))
    expect(page.locator("#messages")).to_contain_text(f"Ran schedule {schedule_id} now")
    expect(page.locator("ul.runs li")).to_have_count(1)

    page.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
    page.get_by_role("button", name="Delete schedule").click()

    expect(page).to_have_url(re.compile(r"/schedules/$"))
    expect(page.locator("#messages")).to_contain_text(f"Deleted schedule {schedule_id}")
    expect(page.locator(f"#schedule-{schedule_id}")).to_have_count(0)
    context.close()


def test_the_schedule_pages_fit_a_375_px_phone(page: Page, stack: Stack, beat: Service) -> None:
    added = httpx.post(
        f"{stack.url}/schedules/",
        json={"type": "notify", "params": {"message": "the nightly export"}, "cron": "0 3 * * *"},
    ).json()
    page.set_viewport_size({"width": 375, "height": 800})

    widths = {}
    for path in ("/schedules/", added["url"]):
        page.goto(path)
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=SCREENSHOTS / "schedule-phone.png", full_page=True)
    httpx.post(f"{stack.url}{added['url']}delete/")

    assert all(width <= 375 for width in widths.values()), widths
