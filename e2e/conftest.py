"""Playwright against the real stack: Playwright's own Chromium, or the system's."""

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Playwright

from conftest import Stack

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
    """Like conftest.wait_for, but lets Playwright deliver events while waiting."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        page.wait_for_timeout(50)


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
