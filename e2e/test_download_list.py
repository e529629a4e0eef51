"""The table's "Download CSV" and "JSON Lines" links: the file the browser saves holds
the rows of the filters chosen in the page, every page of them."""

import csv
import io
import json
import re

import httpx
from playwright.sync_api import Page, expect

from conftest import SCREENSHOTS, Stack, wait_for
from e2e.conftest import wait_in_page

FILENAME = re.compile(r"^tasks-\d{4}-\d\d-\d\dT\d{4}\.(csv|jsonl)$")


def finished_task(stack: Stack, kind: int, status: str) -> str:
    """`curl -F type=<kind>`, then wait until the task has finished as `status`."""
    with httpx.Client(base_url=stack.url, headers={"Accept": "*/*"}, timeout=15) as client:
        task_id = str(client.post("/tasks/", data={"type": str(kind)}).json()["task_id"])
        wait_for(
            lambda: client.get(f"/tasks/{task_id}/").json()["task_status"] == status,
            60,
            f"task {task_id[:8]} to be {status}",
        )
    return task_id


def test_the_downloads_keep_the_filters_chosen_in_the_page(page: Page, stack: Stack) -> None:
    succeeded = finished_task(stack, 0, "SUCCESS")
    failed = finished_task(stack, 5, "FAILURE")
    page.goto(stack.url + "/")

    page.get_by_role("combobox", name="Status").select_option("SUCCESS")
    csv_link = page.get_by_role("link", name="Download CSV")
    wait_in_page(
        page,
        lambda: "status=SUCCESS" in (csv_link.get_attribute("href") or ""),
        10,
        "the table to follow the status filter",
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#task-table").screenshot(path=SCREENSHOTS / "export-link.png")
    with page.expect_download() as saved_csv:
        csv_link.click()
    with page.expect_download() as saved_jsonl:
        page.get_by_role("link", name="JSON Lines").click()

    expect(page).to_have_url(re.compile(r"/\?status=SUCCESS$"))  # the page stayed
    for download in (saved_csv.value, saved_jsonl.value):
        assert FILENAME.match(download.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(saved_csv.value.path().read_text())))
    lines = [json.loads(line) for line in saved_jsonl.value.path().read_text().splitlines()]
    for listed in ([row["task_id"] for row in rows], [line["task_id"] for line in lines]):
        assert succeeded in listed
        assert failed not in listed
    assert {row["task_status"] for row in rows} == {line["task_status"] for line in lines}
    assert {row["task_status"] for row in rows} == {"SUCCESS"}
