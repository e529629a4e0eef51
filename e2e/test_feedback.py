"""Actions answer in the page: what was launched, cancelled, retried, deleted or
cleared, and an error banner that goes away once the input is fixed."""

import re

import httpx
from playwright.sync_api import Browser, Dialog, Page, expect

from conftest import Stack
from e2e.conftest import launch, wait_for_row
from webapp.tasks.web.feedback import count_text

MESSAGES = "#messages"


def accept(dialog: Dialog) -> None:
    dialog.accept()


def test_launching_while_the_filters_hide_the_task_says_so_with_a_link(page: Page) -> None:
    page.goto("/?status=FAILURE")

    page.get_by_role("button", name=re.compile("^Instant")).click()

    messages = page.locator(MESSAGES)
    expect(messages).to_contain_text(
        re.compile(r"Launched instant task \w{8}\. The current filters hide it\.")
    )
    link = messages.get_by_role("link")
    link.click()
    expect(page).to_have_url(re.compile(r"/tasks/[0-9a-f-]{36}/$"))


def test_cancel_retry_and_clear_say_what_they_did(page: Page, stack: Stack) -> None:
    page.goto("/")
    failed = launch(page, "Failing")
    wait_for_row(page, failed, "FAILURE")
    messages = page.locator(MESSAGES)

    page.get_by_role("button", name=f"Retry task {failed[:8]}", exact=True).click()
    expect(messages).to_contain_text(re.compile(rf"Retried failing task {failed[:8]} as \w{{8}}\."))
    retry_id = (messages.get_by_role("link").inner_text()).strip()
    expect(page.locator(f"#task-{failed} .retried-as")).to_contain_text(f"retried as {retry_id}")

    page.get_by_role("button", name=f"Cancel task {retry_id}", exact=True).click()
    expect(messages).to_contain_text(
        re.compile(rf"Cancelled failing task {retry_id} (while it ran|before it started)\.")
    )

    stack.wait_until_idle()
    finished = sum(
        n
        for status, n in httpx.get(f"{stack.url}/tasks/").json()["counts"].items()
        if status in ("SUCCESS", "FAILURE", "REVOKED")
    )
    page.once("dialog", accept)
    page.get_by_text("Clear finished tasks…").click()
    page.get_by_role("button", name="Clear finished tasks").click()
    expect(messages).to_have_text(
        f"Deleted {count_text(finished)} finished task{'' if finished == 1 else 's'}."
    )


def test_an_error_banner_goes_once_the_search_is_fixed(page: Page) -> None:
    page.goto("/")
    search = page.get_by_label("ID starts with")

    search.fill("zz")
    expect(page.locator(MESSAGES)).to_contain_text("hex digits and dashes")
    search.fill("ab")

    expect(page.locator(MESSAGES)).to_have_text("")


def test_an_error_banner_goes_when_the_view_changes(page: Page) -> None:
    page.goto("/")
    page.get_by_label("ID starts with").fill("zz")
    expect(page.locator(MESSAGES)).to_contain_text("hex digits and dashes")

    page.locator("#counters").get_by_role("link").first.click()

    expect(page.locator(MESSAGES)).to_have_text("")


def test_without_javascript_the_page_redirected_to_says_what_was_done(
    browser: Browser, stack: Stack
) -> None:
    context = browser.new_context(base_url=stack.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")

    page.get_by_role("button", name=re.compile("^Instant")).click()

    expect(page).to_have_url(f"{stack.url}/")
    expect(page.locator(MESSAGES)).to_contain_text(re.compile(r"Launched instant task \w{8}\."))
    page.reload()
    expect(page.locator(MESSAGES)).to_have_text("")  # said once
    context.close()


def test_retry_from_the_task_page_says_so_on_the_new_tasks_page(page: Page, stack: Stack) -> None:
    failed = httpx.post(f"{stack.url}/tasks/", data={"type": "5"}).json()
    stack.wait_until_idle()
    page.goto(failed["url"])

    page.get_by_role("button", name=f"Retry task {failed['task_id'][:8]}", exact=True).click()

    expect(page).not_to_have_url(f"{stack.url}{failed['url']}")
    expect(page.locator(MESSAGES)).to_contain_text(
        re.compile(rf"Retried failing task {failed['task_id'][:8]} as \w{{8}}\.")
    )
    expect(page.locator("#task-detail")).to_contain_text("Retry of")
