"""Clearing a history too long for one request: the page carries on by itself and
says how far it got, on a server of its own whose time budget is a tenth of a second."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, Request

from bench.fill import fill_history
from conftest import Stack, free_port, stack_environment, start_redis, start_web
from e2e.conftest import wait_in_page

FINISHED = 5_000


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("long-history")
    redis_port, web_port = free_port(), free_port()
    env = stack_environment(directory, redis_port) | {"CLEAR_TIME_BUDGET_SECONDS": "0.1"}
    stack = Stack(url=f"http://127.0.0.1:{web_port}", env=env, directory=directory)
    try:
        start_redis(stack, redis_port)
        stack.manage("migrate", "--noinput", "-v", "0")
        stack.manage("collectstatic", "--noinput", "-v", "0")
        fill_history(Path(directory / "db.sqlite3"), FINISHED)
        start_web(stack, web_port, env=env)
        yield stack
    finally:
        stack.stop()


def test_clearing_carries_on_by_itself_and_says_what_it_did(
    page: Page, long_history: Stack
) -> None:
    posts: list[str] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/tasks/clear/"):
            posts.append(request.post_data or "")

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.on("request", note)
    page.once("dialog", accept)
    page.goto(long_history.url + "/")
    page.get_by_text("Clear finished tasks…").click()
    page.get_by_role("button", name="Clear finished tasks").click()

    status = page.locator("#clear-status")
    wait_in_page(
        page,
        lambda: "Deleted 5 000 finished tasks." in status.inner_text(),
        60,
        "the clearing to finish",
    )
    assert len(posts) > 1  # it took several requests, the later ones sent by the page
    assert all("as_of=" in body for body in posts[1:])
    assert long_history.fetch("SELECT count(*) FROM tasks_taskrecord") == [(0,)]
    assert page.locator("#counters .status-success .count").inner_text() == "0"
