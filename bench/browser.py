"""What one open dashboard costs, counted by a real Chromium (Playwright).

Two sources, because they disagree on purpose: Resource Timing's `transferSize` is
what the page itself may see, and Chromium reports it as the compressed body plus a
flat 300 bytes for headers (the Resource Timing spec hides real header sizes), so a
bodiless 204 always "weighs" 300 bytes there. Playwright's `request.sizes()` reads
the real byte counts from the browser's network stack: headers as sent and received,
and the body as transferred.
"""

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Request, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from e2e.conftest import SYSTEM_CHROMIUM_ARGS


@contextmanager
def chromium() -> Iterator[Browser]:
    """Playwright's own Chromium if it is installed, else the system's."""
    with sync_playwright() as playwright:
        options: dict[str, Any] = {}
        if not Path(playwright.chromium.executable_path).exists():
            for name in ("chromium", "chromium-browser", "google-chrome"):
                if path := shutil.which(name):
                    options = {"executable_path": path, "args": SYSTEM_CHROMIUM_ARGS}
                    break
        browser = playwright.chromium.launch(**options)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Traffic:
    """Every request a page made, with its real sizes and its Resource Timing."""

    page: Page
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("requestfinished", lambda request: self.requests.append(request))

    def now_ms(self) -> float:
        return float(self.page.evaluate("performance.now()"))

    def polls(self, since_ms: float) -> list[dict[str, Any]]:
        """Table polls started after `since_ms`: URL, status and both byte counts."""
        entries = self.page.evaluate(
            """since => performance.getEntriesByType('resource')
                 .filter(e => e.initiatorType === 'xmlhttprequest'
                              && e.startTime >= since)
                 .map(e => ({url: e.name, start: e.startTime, status: e.responseStatus,
                             transfer_size: e.transferSize}))""",
            since_ms,
        )
        wire: dict[str, list[dict[str, int]]] = {}
        for request in self.requests:
            if request.resource_type in ("xhr", "fetch"):
                wire.setdefault(request.url, []).append(wire_sizes(request))
        polls = []
        for entry in entries:
            # Same URL, same order: match each entry to the next unclaimed request.
            sizes = wire.get(entry["url"], [])
            polls.append(entry | (sizes.pop(0) if sizes else {}))
        return polls


def wire_sizes(request: Request) -> dict[str, int]:
    sizes = request.sizes()
    response = request.response()
    return {
        "request_header_bytes": sizes["requestHeadersSize"],
        "response_header_bytes": sizes["responseHeadersSize"],
        "response_body_bytes": sizes["responseBodySize"],
        "status_seen": response.status if response else 0,
    }


def first_load(page: Page, traffic: Traffic) -> dict[str, Any]:
    """The dashboard's first load: the page and every file it pulls in, compressed."""
    page.goto("/", wait_until="load")
    timing = page.evaluate(
        """() => [...performance.getEntriesByType('navigation'),
                  ...performance.getEntriesByType('resource')]
              .map(e => ({url: e.name, kind: e.initiatorType || 'navigation',
                          transfer_size: e.transferSize,
                          encoded_bytes: e.encodedBodySize,
                          decoded_bytes: e.decodedBodySize}))"""
    )
    by_url = {request.url: request for request in traffic.requests}
    files = []
    for entry in timing:
        request = by_url.get(entry["url"])
        response = request.response() if request else None
        encoding = (response.headers.get("content-encoding") if response else None) or ""
        files.append(
            entry | {"content_encoding": encoding or "identity"}
            | (wire_sizes(request) if request else {})
        )  # fmt: skip
    return {
        "files": files,
        "compressed_bytes": sum(f["encoded_bytes"] for f in files),
        "uncompressed_bytes": sum(f["decoded_bytes"] for f in files),
        "wire_bytes": sum(
            f.get("response_header_bytes", 0) + f.get("response_body_bytes", 0) for f in files
        ),
    }


def watch(page: Page, traffic: Traffic, seconds: float) -> dict[str, Any]:
    """Leave the page open for `seconds` and count what its polling costs."""
    start = traffic.now_ms()
    page.wait_for_timeout(seconds * 1000)  # an observation window, not a wait for state
    polls = traffic.polls(start)
    per_minute = 60 / seconds
    return {
        "seconds": seconds,
        "polls": polls,
        "requests_per_minute": len(polls) * per_minute,
        "transfer_bytes_per_minute": sum(p["transfer_size"] for p in polls) * per_minute,
        "response_bytes_per_minute": sum(
            p.get("response_header_bytes", 0) + p.get("response_body_bytes", 0) for p in polls
        )
        * per_minute,
        "request_header_bytes_per_minute": sum(p.get("request_header_bytes", 0) for p in polls)
        * per_minute,
        "largest_response_bytes": max(
            (p.get("response_header_bytes", 0) + p.get("response_body_bytes", 0) for p in polls),
            default=0,
        ),
        "distinct_paths": sorted({p["url"].split("?")[0] for p in polls}),
        "statuses": sorted({p["status"] for p in polls}),
    }


# Headless Chromium keeps every tab "visible" (switching tabs or minimising the
# window through CDP changes nothing), so the page is told it is hidden the way
# e2e/test_pause.py does: document.hidden overridden, then the real event, which
# static/js/live.js's own listeners handle.
SET_HIDDEN = """hidden => {
    const at = performance.now();  // before the event: its listeners send at once
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
    Object.defineProperty(document, 'visibilityState',
                          {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
    document.dispatchEvent(new Event('visibilitychange'));
    return at;
}"""


def hidden_tab(page: Page, seconds: float) -> dict[str, Any]:
    """Hide the page for `seconds` and count every request it makes meanwhile; then
    show it and time its first table poll from the moment it was shown."""
    sent: list[str] = []

    def record(request: Request) -> None:
        sent.append(request.url)

    page.evaluate(SET_HIDDEN, True)
    page.on("request", record)
    page.wait_for_timeout(seconds * 1000)  # an observation window, not a wait for state
    page.remove_listener("request", record)
    shown_at = float(page.evaluate(SET_HIDDEN, False))
    delay: float | None = None
    try:
        page.wait_for_function(
            """since => performance.getEntriesByType('resource').some(
                   e => e.initiatorType === 'xmlhttprequest' && e.startTime >= since)""",
            arg=shown_at,
            timeout=5_000,
        )
        delay = float(
            page.evaluate(
                """since => Math.min(...performance.getEntriesByType('resource')
                     .filter(e => e.initiatorType === 'xmlhttprequest' && e.startTime >= since)
                     .map(e => e.startTime)) - since""",
                shown_at,
            )
        )
    except PlaywrightTimeoutError:
        pass  # reported as no poll at all
    return {
        "seconds": seconds,
        "requests": len(sent),
        "urls": sent,
        "refresh_after_shown_ms": delay,
    }


def watching_cost(
    base_url: str,
    wait_idle: Callable[[], None],
    start_tasks: Callable[[], int],
    idle_seconds: float,
    active_seconds: float,
    hidden_seconds: float = 4,
) -> dict[str, Any]:
    """First load, an idle window, then with tasks running: hidden, then shown."""
    with chromium() as browser:
        context = browser.new_context(base_url=base_url)
        page = context.new_page()
        traffic = Traffic(page)
        wait_idle()
        load = first_load(page, traffic)
        idle = watch(page, traffic, idle_seconds)
        running = start_tasks()
        # The next idle poll sees the new tasks and switches the page to 1 s polls.
        page.wait_for_selector(
            "#task-table[data-poll-seconds='1']", state="attached", timeout=15_000
        )
        # Hidden while polls go out every second, so each second hidden saves one.
        hidden = hidden_tab(page, hidden_seconds)
        active = watch(page, traffic, active_seconds) | {"tasks_active": running}
        context.close()
    return {"first_load": load, "idle": idle, "hidden": hidden, "active": active}
