"""Roles in the browser: a viewer logged in watches every task and finds no button
to act with; an operator launches and cancels their own. Screenshots of both."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import SCREENSHOTS, Stack, free_port, start_web
from e2e.conftest import newest_task_id, wait_in_page
from e2e.test_accessibility import serious_violations

USERS = """
from django.contrib.auth.models import Group, User
for name, group in [("vera", "viewer"), ("otto", None)]:
    User.objects.filter(username=name).delete()
    user = User.objects.create_user(name, password=f"{name}-secret-pw")
    if group:
        user.groups.add(Group.objects.get(name=group))
"""


@pytest.fixture(scope="module")
def secured_url(stack: Stack) -> Iterator[str]:
    stack.manage("shell", "-c", USERS)
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"DASHBOARD_REQUIRE_LOGIN": "true"})
    yield f"http://127.0.0.1:{port}"
    web.stop()


def logged_in(browser: Browser, url: str, name: str) -> Page:
    page = browser.new_page(base_url=url)
    page.goto("/accounts/login/?next=/")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(f"{name}-secret-pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {name}")).to_be_visible()
    return page


def test_a_viewer_sees_everyones_tasks_and_no_button(browser: Browser, secured_url: str) -> None:
    operator = logged_in(browser, secured_url, "otto")
    before = newest_task_id(operator)
    operator.get_by_role("button", name="Long").click()
    wait_in_page(operator, lambda: newest_task_id(operator) not in (None, before), 10, "a row")
    launched = newest_task_id(operator)
    row = operator.locator(f'[id="task-{launched}"]')
    row.get_by_role("button", name="Cancel").click()
    expect(row.get_by_role("button", name="Retry")).to_be_visible()
    operator.screenshot(path=SCREENSHOTS / "roles-operator.png", full_page=True)

    viewer = logged_in(browser, secured_url, "vera")

    expect(viewer.locator(f'[id="task-{launched}"]')).to_have_attribute("data-status", "REVOKED")
    expect(viewer.get_by_text("Your role may look, not launch.")).to_be_visible()
    assert viewer.locator('button[name="type"]').count() == 0
    assert viewer.locator("#task-table button").count() == 0
    assert viewer.get_by_role("button", name="Clear finished tasks").count() == 0
    assert viewer.locator("#queues button").count() == 0
    assert serious_violations(viewer) == []
    viewer.screenshot(path=SCREENSHOTS / "roles-viewer.png", full_page=True)

    # No selection column for a role that cannot act in bulk: eight columns, ID first,
    # and on a phone the row's first line is still ID, kind and status.
    headers = viewer.locator("#task-table thead th")
    expect(headers).to_have_count(8)
    expect(headers.first).to_have_text("ID")
    viewer.set_viewport_size({"width": 390, "height": 844})
    row = viewer.locator(f'[id="task-{launched}"]')
    first_line = [row.locator(s).bounding_box() for s in ("td >> nth=0", ".status")]
    times = [row.locator(s).bounding_box() for s in ("td.submitted", "td.runtime")]
    assert all(first_line + times)
    assert abs(first_line[0]["y"] - first_line[1]["y"]) < 12, first_line  # type: ignore[index]
    assert abs(times[0]["y"] - times[1]["y"]) < 12, times  # type: ignore[index]
    viewer.screenshot(path=SCREENSHOTS / "roles-viewer-narrow.png", full_page=True)
