"""Task output is shown as text: markup in a result or an error never runs."""

import json
import uuid

from playwright.sync_api import Page, expect

from conftest import Stack

PAYLOAD = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


def test_markup_in_results_and_errors_is_shown_as_text(page: Page, stack: Stack) -> None:
    task_id = uuid.uuid4()
    with stack.database() as db:  # as if a task elsewhere had produced it
        db.execute(
            "INSERT INTO tasks_taskrecord (task_id, kind, status, progress, attempts,"
            " submitted_at, updated_at, started_at, finished_at, result, error, traceback,"
            " worker, worker_instance) VALUES (?, 5, 'FAILURE', 30, 1, datetime('now'),"
            " datetime('now'), datetime('now'), datetime('now'), ?, ?, ?, ?, '')",
            (task_id.hex, json.dumps(PAYLOAD), PAYLOAD, PAYLOAD, PAYLOAD),
        )

    page.goto(f"/tasks/{task_id}/")
    expect(page.locator("#task-detail .error-text")).to_have_text(PAYLOAD)
    page.goto("/?status=FAILURE")
    expect(page.locator(f"#task-{task_id}")).to_be_visible()

    assert page.evaluate("window.pwned") is None
    assert page.locator("#task-table img").count() == 0
