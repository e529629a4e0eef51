"""Playwright against the real stack: Playwright's own Chromium, or the system's."""

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Playwright

from conftest import Stack, wait_for

# Flags for a system Chromium on a sandboxed, offline machine (root, no GPU).
SYSTEM_CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], playwright: Playwright
) -> dict[str, Any]:
    if Path(playwright.chromium.executable_path).exists():
        return browser_type_launch_args
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return browser_type_launch_args | {
                "executable_path": path,
                "args": [
                    *browser_type_launch_args.get("args", []),
                    *SYSTEM_CHROMIUM_ARGS,
                ],
            }
    pytest.exit("No Chromium found: run `make test`, which installs one.", returncode=3)


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    return stack.url


def wait_in_page(page: Page, condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """conftest.wait_for, letting Playwright deliver events while it waits."""
    return wait_for(
        condition, timeout, what, sleep=lambda seconds: page.wait_for_timeout(seconds * 1000)
    )


def table_polls(page: Page) -> list[dict[str, Any]]:
    """Every request the page made for the table fragment, from the browser's own
    Resource Timing: start times in ms, sizes in bytes, status codes."""
    return list(
        page.evaluate(
            """() => performance.getEntriesByType('resource')
                 .filter(e => e.initiatorType === 'xmlhttprequest')
                 .map(e => ({url: e.name, start: e.startTime,
                             status: e.responseStatus, bytes: e.transferSize}))"""
        )
    )


ROWS = "#task-table tbody tr[data-status]"


def newest_task_id(page: Page) -> str | None:
    rows = page.locator(ROWS)
    if rows.count() == 0:
        return None
    row_id = rows.first.get_attribute("id") or ""
    return row_id.removeprefix("task-")


def row_state(page: Page, task_id: str) -> dict[str, Any]:
    """A row's status and progress-bar value, read at once (rows are swapped often)."""
    return dict(
        page.evaluate(
            """id => {
                const row = document.getElementById('task-' + id);
                const bar = row && row.querySelector('progress');
                return {status: row ? row.dataset.status : null,
                        progress: bar ? Number(bar.value) : null};
            }""",
            task_id,
        )
    )


def wait_for_row(page: Page, task_id: str, status: str, timeout: float = 40) -> None:
    wait_in_page(
        page,
        lambda: row_state(page, task_id)["status"] == status,
        timeout,
        f"task {task_id[:8]} to show {status}",
    )


def launch(page: Page, label: str) -> str:
    """Click a launch button and return the id of the row it adds."""
    before = newest_task_id(page)
    page.get_by_role("button", name=re.compile(f"^{label}", re.IGNORECASE)).click()
    return str(
        wait_in_page(
            page,
            lambda: (new := newest_task_id(page)) != before and new,
            10,
            f"a new row after clicking {label}",
        )
    )


def visible_ids(page: Page) -> list[str]:
    return [
        (row.get_attribute("id") or "").removeprefix("task-") for row in page.locator(ROWS).all()
    ]
