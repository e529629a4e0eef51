"""A table people can read: local times, honest durations, visible kind descriptions,
dropdowns that follow Back, header links, short ids, counts, sorting and page size."""

import re
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import ROWS, visible_ids, wait_in_page
from e2e.test_accessibility import serious_violations

MESSAGES = "#messages"


def submit(stack: Stack, kind: int) -> dict[str, str]:
    return dict(httpx.post(f"{stack.url}/tasks/", data={"type": str(kind)}).json())


def submitted_cell(page: Page, task_id: str) -> str:
    return page.locator(f"#task-{task_id} time").first.inner_text()


# --- Item 4: times in the viewer's zone ---------------------------------------------------


def test_a_browser_in_los_angeles_sees_its_local_time(browser: Browser, stack: Stack) -> None:
    task = submit(stack, 0)
    context = browser.new_context(base_url=stack.url, timezone_id="America/Los_Angeles")
    page = context.new_page()
    page.goto("/")

    submitted = datetime.fromisoformat(task["submitted_at"]).astimezone(
        ZoneInfo("America/Los_Angeles")
    )
    clock = submitted.strftime("%H:%M:%S")
    wait_in_page(
        page, lambda: submitted_cell(page, task["task_id"]).startswith(clock), 5, "LA time"
    )
    assert re.search(r"· (just now|\d+ (s|min) ago)$", submitted_cell(page, task["task_id"]))
    title = page.locator(f"#task-{task['task_id']} time").first.get_attribute("title") or ""
    assert re.search(r"P[SD]T|GMT-[78]", title), title
    now = datetime.now(ZoneInfo("America/Los_Angeles"))
    minutes = {(now - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)}
    assert page.locator("#charts-heading time").inner_text() in minutes  # the chart's axis too
    assert page.locator("#charts text[data-datetime]").last.text_content() in minutes
    context.close()


def test_without_javascript_times_name_the_server_zone(browser: Browser, stack: Stack) -> None:
    task = submit(stack, 0)
    context = browser.new_context(base_url=stack.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")

    utc = datetime.fromisoformat(task["submitted_at"]).strftime("%H:%M:%S")
    assert submitted_cell(page, task["task_id"]) == f"{utc} UTC"
    assert page.locator("#charts-heading time").inner_text().endswith(" UTC")
    context.close()


# --- Item 5: durations --------------------------------------------------------------------


def test_a_flaky_task_shows_its_queue_time_and_every_attempt(page: Page, stack: Stack) -> None:
    task = submit(stack, 6)
    stack.wait_until_idle(timeout=60)

    page.goto(task["url"])

    facts = page.locator("#task-detail .facts")
    expect(facts).to_contain_text("Ran")
    expect(facts).to_contain_text("in 3 attempts")
    expect(facts.locator("ol.attempts li")).to_have_count(3)
    expect(facts.locator("ol.attempts li").nth(0)).to_contain_text("(retrying)")
    expect(facts.locator("ol.attempts li").nth(2)).to_contain_text("(succeeded)")
    expect(facts).to_contain_text("Finished")
    expect(facts).not_to_contain_text("Running for")
    answer = httpx.get(f"{stack.url}{task['url']}").json()
    assert len(answer["attempt_seconds"]) == 3
    assert abs(sum(answer["attempt_seconds"]) - answer["run_seconds"]) < 0.05
    assert answer["queued_seconds"] < answer["attempt_seconds"][0] + 1


def test_a_task_cancelled_before_it_started_says_so(page: Page, stack: Stack) -> None:
    stack.wait_until_idle()
    busy = [submit(stack, 3), submit(stack, 3)]  # both worker processes
    wait_in_page(
        page,
        lambda: all(
            httpx.get(f"{stack.url}{t['url']}").json()["task_status"] == "STARTED" for t in busy
        ),
        20,
        "both processes busy",
    )
    queued = submit(stack, 1)
    httpx.post(f"{stack.url}{queued['url']}cancel/")

    page.goto(queued["url"])

    facts = page.locator("#task-detail .facts")
    expect(facts).to_contain_text("Never started")
    expect(facts).to_contain_text("cancelled before it started")
    expect(facts).not_to_contain_text("0%")
    page.goto(f"/?q={queued['task_id'][:8]}")
    expect(page.locator(f"#task-{queued['task_id']}")).to_contain_text("never started")
    for task in busy:
        httpx.post(f"{stack.url}{task['url']}cancel/")


# --- Item 6: kind descriptions --------------------------------------------------------------


def test_kind_descriptions_are_visible_and_match_the_durations(page: Page) -> None:
    page.goto("/")

    long_button = page.get_by_role("button", name=re.compile("^Long"))
    expect(long_button).to_have_accessible_description("Sleeps 12 s in 20 steps.")
    expect(long_button).to_contain_text("12 s")  # TASK_TIME_SCALE 0.4 of 30 s
    expect(page.locator("#kind-3-description")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^CPU-heavy"))).to_be_visible()
    backgrounds = page.evaluate(
        """() => [...document.querySelectorAll('.launch button')]
                   .map(b => getComputedStyle(b).backgroundColor)"""
    )
    assert len(set(backgrounds)) == 1, backgrounds  # none looks disabled


# --- Item 8: Back and Forward restore the controls ------------------------------------------


def test_back_and_forward_restore_the_dropdowns(page: Page, stack: Stack) -> None:
    submit(stack, 5)
    page.goto("/")
    status = page.get_by_role("combobox", name="Status")
    kind = page.get_by_role("combobox", name="Kind")

    status.select_option("FAILURE")
    expect(page).to_have_url(re.compile(r"\?status=FAILURE$"))
    kind.select_option("5")
    expect(page).to_have_url(re.compile(r"\?status=FAILURE&kind=5$"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?status=FAILURE$"))
    expect(status).to_have_value("FAILURE")
    expect(kind).to_have_value("")
    page.go_back()
    expect(page).to_have_url(f"{stack.url}/")
    expect(status).to_have_value("")
    page.go_forward()
    expect(status).to_have_value("FAILURE")
    expect(kind).to_have_value("")
    page.go_forward()
    expect(kind).to_have_value("5")


# --- Item 9: header links -----------------------------------------------------------------


def test_the_json_link_keeps_the_filters(page: Page, stack: Stack) -> None:
    page.goto("/")

    page.get_by_role("combobox", name="Status").select_option("SUCCESS")
    expect(page).to_have_url(re.compile(r"\?status=SUCCESS$"))

    link = page.get_by_role("link", name="JSON", exact=True)
    expect(link).to_have_attribute("href", "/tasks/?status=SUCCESS&format=json")
    page.go_back()
    expect(link).to_have_attribute("href", "/tasks/?format=json")


# --- Item 10: short ids ---------------------------------------------------------------------


def test_the_short_id_from_the_table_works_as_a_url(page: Page, stack: Stack) -> None:
    task = submit(stack, 0)

    page.goto(f"/tasks/{task['task_id'][:8]}/")

    expect(page).to_have_url(f"{stack.url}{task['url']}")
    expect(page.locator("h1 .task-id")).to_have_text(task["task_id"])
    page.goto("/tasks/00000000/")
    expect(page.locator(".error-message")).to_have_text("No task id starts with '00000000'.")


# --- Item 11: count, sort, page size --------------------------------------------------------


def test_the_table_counts_sorts_by_status_and_offers_a_page_size(page: Page, stack: Stack) -> None:
    for kind in (5, 0, 5, 0, 0):
        submit(stack, kind)
    stack.wait_until_idle()
    total = sum(httpx.get(f"{stack.url}/tasks/").json()["counts"].values())
    page.goto("/")
    expect(page.locator("#matching")).to_contain_text(f"{total:,} task".replace(",", " "))

    page.get_by_role("link", name="Status", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?sort=status$"))
    header = page.locator("th[aria-sort='ascending']")
    expect(header).to_contain_text("Status")
    statuses = [r.get_attribute("data-status") or "" for r in page.locator(ROWS).all()]
    assert statuses == sorted(statuses)

    page.get_by_role("combobox", name="Rows").select_option("25")
    expect(page).to_have_url(re.compile(r"\?sort=status&size=25$"))
    wait_in_page(page, lambda: len(visible_ids(page)) == min(25, total), 10, "25 rows")
    if total > 25:
        first_page = visible_ids(page)
        page.get_by_role("link", name="Next page →").click()
        expect(page).to_have_url(re.compile(r"after=[A-Z]+\.\d+"))
        wait_in_page(page, lambda: visible_ids(page) != first_page, 10, "the next page")
        assert not set(visible_ids(page)) & set(first_page)


# --- Accessibility of the new parts, and their screenshots -------------------------------


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_readable_parts_have_no_serious_axe_findings(
    browser: Browser, stack: Stack, scheme: Literal["light", "dark"], width: int
) -> None:
    flaky = submit(stack, 6)
    failed = submit(stack, 5)
    stack.wait_until_idle(timeout=60)
    context = browser.new_context(
        base_url=stack.url,
        viewport={"width": width, "height": 900},
        color_scheme=scheme,
        timezone_id="America/Los_Angeles",
    )
    page = context.new_page()
    # Newest first: the two tasks just made are on top however long the shared stack's
    # history (sorted by status, the failure fell off the page once other modules
    # had filled it with thousands of rows).
    page.goto("/?size=25")
    page.get_by_role("button", name=f"Retry task {failed['task_id'][:8]}", exact=True).click()
    expect(page.locator(MESSAGES)).to_contain_text("Retried failing task")

    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"readable-dashboard-{width}-{scheme}.png", full_page=True)
    page.goto(flaky["url"])
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / f"readable-flaky-{width}-{scheme}.png", full_page=True)
    context.close()
    stack.wait_until_idle(timeout=60)


def test_sorting_by_run_time_shows_the_longest_first(page: Page, stack: Stack) -> None:
    for kind in (0, 1, 0):
        submit(stack, kind)
    stack.wait_until_idle()
    page.goto("/")

    page.get_by_role("link", name="Run time", exact=True).click()

    expect(page).to_have_url(re.compile(r"\?sort=-runtime$"))
    expect(page.locator("th[aria-sort='descending']")).to_contain_text("Run time")
    expect(page.locator("#tasks-heading")).to_contain_text("finished tasks by run time")
    cells = page.locator(f"{ROWS} td:nth-child(8)").all_inner_texts()
    seconds = [float(text.removesuffix(" s")) for text in cells]
    assert seconds == sorted(seconds, reverse=True)
    assert seconds[0] >= 3.9  # the short task: 10 s x TASK_TIME_SCALE 0.4
