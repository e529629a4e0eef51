"""The catalogue in a browser: an entry's parameter form refusing a value next to its
field and then launching, with JavaScript and without; a finished task run again with
an edited parameter; no serious axe findings on any of it."""

import re

import httpx
from playwright.sync_api import Browser, Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import ROWS, newest_task_id, wait_in_page
from e2e.test_accessibility import serious_violations


def task_json(stack: Stack, task_id: str) -> dict[str, object]:
    return dict(httpx.get(f"{stack.url}/tasks/{task_id}/").json())


def fill_in_an_error_then_launch(page: Page, scripts_on: bool = True) -> str:
    """From the dashboard, through the short entry's form: 500 s is refused next to
    the field, 1 s launches. Returns the new task's id. (axe needs JavaScript.)"""
    page.goto("/")
    before = newest_task_id(page)
    page.get_by_role("link", name="Parameters… of Short").click()
    expect(page.get_by_role("heading", name="Launch Short")).to_be_visible()

    seconds = page.get_by_label("Seconds")
    seconds.fill("500")
    page.get_by_role("button", name="Launch", exact=True).click()

    error = page.locator("#short-seconds-error")
    expect(error).to_have_text("`seconds` must be a whole number from 0 to 100; got '500'.")
    expect(seconds).to_have_value("500")  # what was typed stays, to be corrected
    expect(seconds).to_have_attribute("aria-invalid", "true")
    assert "short-seconds-error" in (seconds.get_attribute("aria-describedby") or "")
    if scripts_on:
        assert serious_violations(page) == []
        page.screenshot(path=SCREENSHOTS / "catalogue-form-error.png", full_page=True)

    seconds.fill("1")
    page.get_by_role("button", name="Launch", exact=True).click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#messages")).to_contain_text("Launched short task")
    return str(
        wait_in_page(
            page,
            lambda: (new := newest_task_id(page)) != before and new,
            10,
            "the launched task's row",
        )
    )


def test_the_parameter_form_shows_an_error_by_its_field_then_launches(
    page: Page, stack: Stack
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    task_id = fill_in_an_error_then_launch(page)

    assert task_json(stack, task_id)["params"] == {"seconds": 1}


def test_the_parameter_form_works_with_javascript_off(browser: Browser, stack: Stack) -> None:
    context = browser.new_context(base_url=stack.url, java_script_enabled=False)
    page = context.new_page()

    task_id = fill_in_an_error_then_launch(page, scripts_on=False)

    assert task_json(stack, task_id)["params"] == {"seconds": 1}
    context.close()


def test_a_finished_task_runs_again_with_an_edited_parameter(page: Page, stack: Stack) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    message = "the nightly export is ready; " * 5
    first = httpx.post(
        f"{stack.url}/tasks/",
        json={"type": "notify", "params": {"to": "team", "message": message}},
    ).json()
    stack.wait_until_idle()
    page.goto(first["url"])
    expect(page.locator("[data-status=SUCCESS]")).to_be_visible()
    # The long message is folded, saying how long it is, and unfolds in full.
    folded = page.locator(".params details.folded")
    expect(folded).to_contain_text(f"({len(message)} characters: show all)")
    folded.locator("summary").click()
    expect(folded.locator("pre")).to_have_text(message)

    page.get_by_text("Run again…").click()
    form = page.get_by_role("form", name="Run again Notify")
    expect(form.get_by_label("To")).to_have_value("team")  # prefilled with its parameters
    expect(form.get_by_label("Message")).to_have_value(message)
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / "catalogue-run-again.png", full_page=True)
    form.get_by_label("Message").fill("the export is late")
    form.get_by_role("radio", name="Yes").check()
    form.get_by_role("button", name="Run again").click()

    expect(page.locator("#messages")).to_contain_text("Launched notify task")
    again = page.locator(f"{ROWS}").first.get_attribute("id") or ""
    params = task_json(stack, again.removeprefix("task-"))["params"]
    assert params == {"to": "team", "message": "the export is late", "urgent": True}
    stack.wait_until_idle()


def test_the_catalogue_page_has_no_serious_axe_findings(page: Page) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto("/catalogue/")
    page.locator("#entry-notify summary").click()  # open one form

    expect(page.get_by_role("heading", name="Catalogue")).to_be_visible()
    expect(page.get_by_role("form", name="Launch Notify")).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / "catalogue.png", full_page=True)
