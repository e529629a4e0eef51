"""A task published from a shell shows in the open page with its name and arguments,
and its page shows them whole."""

from playwright.sync_api import Page, expect

from conftest import SCREENSHOTS, Stack
from e2e.conftest import wait_for_row
from e2e.test_accessibility import serious_violations
from tests.integration.test_every_task_seen import celery_call


def test_a_task_sent_from_a_shell_appears_in_the_open_page(page: Page, stack: Stack) -> None:
    page.goto("/")
    long_text = "a long label " * 8

    task_id = celery_call(stack, "demo.echo", f'["{long_text}", 42]')

    wait_for_row(page, task_id, "SUCCESS", timeout=60)
    row = page.locator(f"#task-{task_id}")
    expect(row).to_contain_text("demo.echo")
    expect(row.locator(".task-args")).to_contain_text("…")  # elided, and says so
    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    row.screenshot(path=SCREENSHOTS / "foreign-task-row.png")

    row.get_by_role("link").first.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("demo.echo")
    fold = page.locator("details.folded")
    fold.locator("summary").click()
    expect(fold.locator("pre")).to_have_text(long_text)
    assert serious_violations(page) == []
    page.screenshot(path=SCREENSHOTS / "foreign-task.png", full_page=True)
