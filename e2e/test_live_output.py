"""A running task's output on its page: lines appear as the task logs them (the
page's own poll), the panel follows the end unless the reader scrolled up, markup
shows as text, and axe finds nothing serious."""

import httpx
from playwright.sync_api import Dialog, Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import wait_in_page
from e2e.test_accessibility import serious_violations
from tests.integration.test_every_task_seen import celery_call

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def launch(stack: Stack, **fields: str) -> str:
    response = httpx.post(f"{stack.url}/tasks/", data=fields, headers={"Accept": "*/*"})
    assert response.status_code == 202, response.text
    return str(response.json()["task_id"])


def shown_lines(page: Page) -> list[str]:
    panel = page.locator("#task-output")
    return panel.inner_text().splitlines() if panel.count() else []


def test_a_running_tasks_output_appears_on_its_page_while_it_runs(page: Page, stack: Stack) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    task_id = launch(stack, type="long")  # 20 steps of 0.6 s at the suite's scale
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"/tasks/{task_id}/")

    wait_in_page(page, lambda: len(shown_lines(page)) >= 3, 20, "the first lines")
    first = shown_lines(page)
    wait_in_page(page, lambda: len(shown_lines(page)) > len(first) + 2, 20, "more lines")

    expect(page.locator("#task-detail [data-status]")).to_have_attribute("data-status", "STARTED")
    assert shown_lines(page)[: len(first)] == first
    assert any(line.endswith("step 3 of 20 done") for line in shown_lines(page))
    page.screenshot(path=SCREENSHOTS / "live-output.png", full_page=True)
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="light")

    expect(page.locator("#task-output")).to_contain_text("slept 12.0 s", timeout=30_000)
    expect(page.locator("#task-detail [data-status]")).to_have_attribute("data-status", "SUCCESS")


def scrolled_to_end(page: Page) -> bool:
    return bool(
        page.eval_on_selector(
            "#task-output", "el => el.scrollHeight - el.scrollTop - el.clientHeight < 8"
        )
    )


# Notes, as each new panel arrives (a microtask after the swap, before any other
# task runs), whether it is scrolled to its end.
NOTE_EVERY_NEW_PANEL = """() => {
  window.panelsAtEnd = [];
  new MutationObserver(() => {
    const el = document.getElementById("task-output");
    if (!el || el.dataset.noted) return;
    el.dataset.noted = "1";
    window.panelsAtEnd.push(el.scrollHeight - el.scrollTop - el.clientHeight < 8);
  }).observe(document.body, { childList: true, subtree: true });
}"""


def test_the_panel_follows_the_end_unless_the_reader_scrolled_up(page: Page, stack: Stack) -> None:
    task_id = celery_call(stack, "demo.chatter", "[150, 30, 0.08]")  # 12 s, overflows the panel
    page.goto(f"/tasks/{task_id}/")
    wait_in_page(page, lambda: len(shown_lines(page)) >= 40, 20, "the panel to overflow")
    wait_in_page(page, lambda: scrolled_to_end(page), 5, "the panel at its end")
    page.evaluate(NOTE_EVERY_NEW_PANEL)
    seen = len(shown_lines(page))
    wait_in_page(page, lambda: len(shown_lines(page)) > seen + 5, 10, "more lines")
    assert scrolled_to_end(page)
    # Every panel a poll brought was at its end before anything could look at it,
    # not only the one this test happened to read.
    at_end = page.evaluate("window.panelsAtEnd")
    assert at_end
    assert all(at_end)

    page.eval_on_selector("#task-output", "el => { el.scrollTop = 0; }")
    seen = len(shown_lines(page))
    wait_in_page(page, lambda: len(shown_lines(page)) > seen + 5, 10, "more lines")

    assert page.eval_on_selector("#task-output", "el => el.scrollTop") == 0


def test_logged_markup_shows_as_text_in_the_panel(page: Page, stack: Stack) -> None:
    dialogs: list[str] = []

    def dismissed(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismissed)
    task_id = launch(stack, type="notify", message=HOSTILE)
    page.goto(f"/tasks/{task_id}/")

    expect(page.locator("#task-output")).to_contain_text(HOSTILE, timeout=20_000)
    assert page.locator("#task-output img, #task-output script").count() == 0
    expect(page.locator("#task-detail [data-status]")).to_have_attribute(
        "data-status", "SUCCESS", timeout=30_000
    )
    assert dialogs == []
