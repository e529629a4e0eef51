"""A task's live output over HTTP with the real stack (README "Live output"): the
lines its body logs on a worker show in its JSON and on its page while it runs, are
kept when it ends, bounded, escaped, and only for whoever may see the task."""

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import Stack, wait_for
from tests.integration.conftest import users_with_tokens, wait_for_status
from tests.integration.test_every_task_seen import celery_call

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HTMX = {"HX-Request": "true", "Accept": "text/html"}


def launch(client: httpx.Client, **fields: str) -> str:
    response = client.post("/tasks/", files={k: (None, v) for k, v in fields.items()})
    assert response.status_code == 202, response.text
    return str(response.json()["task_id"])


def messages(task: dict[str, Any]) -> list[str]:
    """The output's lines without their time and level."""
    return [line.split(" ", 2)[2] for line in task["output"]["lines"]]


def test_a_running_tasks_json_shows_its_lines_as_it_runs_then_all_of_them(
    client: httpx.Client,
) -> None:
    task_id = launch(client, type="medium")  # 20 steps of 0.4 s at the suite's scale

    def running_with_lines() -> dict[str, Any] | None:
        task = client.get(f"/tasks/{task_id}/").json()
        seen = task["task_status"] == "STARTED" and "step 3 of 20 done" in messages(task)
        return task if seen else None

    running = wait_for(running_with_lines, 30, "lines of the running task")
    wait_for_status(client, task_id, "SUCCESS")

    # The output settles just after the outcome (the worker stores it as the run ends;
    # the page polls on meanwhile), Celery's "succeeded" line last.
    def settled() -> dict[str, Any] | None:
        task = client.get(f"/tasks/{task_id}/").json()
        return task if any(" succeeded in " in line for line in messages(task)) else None

    done = wait_for(settled, 15, "the finished task's last lines")

    assert running["output"]["available"]
    assert messages(running)[0].startswith("sleeping 8.0 s in 20 steps")
    assert "step 20 of 20 done" not in messages(running)
    final = messages(done)
    assert final[: len(messages(running))] == messages(running)  # only added to
    assert final[1:21] == [f"step {n} of 20 done" for n in range(1, 21)]
    assert final[21] == "slept 8.0 s"
    assert done["output"]["truncated"] is False


def test_a_line_logged_is_news_to_the_pages_poll_when_nothing_else_changed(
    stack: Stack, client: httpx.Client
) -> None:
    # A task published elsewhere reports no progress: only its output changes.
    task_id = celery_call(stack, "demo.chatter", "[40, 0, 0.3]")
    wait_for_status(client, task_id, "STARTED")

    def first_lines() -> httpx.Response | None:
        answer = client.get(f"/tasks/{task_id}/", headers=HTMX)
        return answer if "line 2 " in answer.text else None

    first = wait_for(first_lines, 15, "the first lines on the page")
    since = html.unescape(re.search(r'\?since=([^"]+)"', first.text)[1])  # type: ignore[index]

    def news() -> httpx.Response | None:
        answer = client.get(f"/tasks/{task_id}/?since={since}", headers=HTMX)
        return answer if answer.status_code == 200 else None

    later = wait_for(news, 15, "the poll to bring new lines")
    assert 'data-status="STARTED"' in later.text  # news while it runs, not its end
    shown = re.findall(r"line (\d+) ", later.text)
    assert max(map(int, shown)) > max(map(int, re.findall(r"line (\d+) ", first.text)))
    wait_for_status(client, task_id, "SUCCESS")


def test_more_than_200_lines_keeps_the_last_200_and_counts_the_rest(
    stack: Stack, client: httpx.Client
) -> None:
    task_id = celery_call(stack, "demo.chatter", "[500]")

    done = wait_for_status(client, task_id, "SUCCESS")

    output = done["output"]
    numbered = [int(m[5:].split(" ")[0]) for m in messages(done) if m.startswith("line ")]
    assert len(output["lines"]) == 200
    assert numbered == list(range(numbered[0], 501))
    # Celery's own "succeeded in" line is the one after line 500.
    assert messages(done)[-1].startswith(f"Task demo.chatter[{task_id}] succeeded in ")
    assert output["dropped_lines"] == 501 - 200
    assert output["truncated"] is True

    page = client.get(f"/tasks/{task_id}/", headers={"Accept": "text/html"}).text
    assert "301 earlier lines not kept" in page


def test_more_than_64_kb_keeps_the_newest_lines_within_64_kb(
    stack: Stack, client: httpx.Client
) -> None:
    task_id = celery_call(stack, "demo.chatter", "[100, 2000]")

    done = wait_for_status(client, task_id, "SUCCESS")

    output = done["output"]
    assert sum(len(line.encode()) for line in output["lines"]) <= 64 * 1024
    assert any(m.startswith("line 100 ") for m in messages(done))
    assert not any(m.startswith("line 60 ") for m in messages(done))
    assert output["dropped_lines"] > 60
    assert output["dropped_bytes"] > 60 * 2000


def test_logged_markup_is_shown_as_text_on_the_page_and_in_its_fragment(
    client: httpx.Client,
) -> None:
    task_id = launch(client, type="notify", message=HOSTILE)

    done = wait_for_status(client, task_id, "SUCCESS")
    page = client.get(f"/tasks/{task_id}/", headers={"Accept": "text/html"}).text
    fragment = client.get(f"/tasks/{task_id}/", headers=HTMX).text

    assert f"preparing a notification to on-call: {HOSTILE}" in messages(done)  # JSON is data
    for answer in (page, fragment):
        assert html.escape(HOSTILE, quote=True) in answer
        assert "<script>alert" not in answer
        assert "<img src=x" not in answer


@pytest.fixture(scope="module")
def users(stack: Stack) -> Iterator[dict[str, httpx.Client]]:
    """Two users of a dashboard with login on, each with a token, speaking like curl."""
    with users_with_tokens(stack, ("gina", "hal")) as (clients, _ids):
        yield clients


def test_another_users_task_output_is_not_shown_to_him(users: dict[str, httpx.Client]) -> None:
    gina, hal = users["gina"], users["hal"]
    task_id = launch(gina, type="notify", message="gina's secret plan")

    done = wait_for_status(gina, task_id, "SUCCESS")

    assert "preparing a notification to on-call: gina's secret plan" in messages(done)
    for headers in ({}, {"Accept": "text/html"}, HTMX):
        refused = hal.get(f"/tasks/{task_id}/", headers=headers)
        assert refused.status_code == 404
        assert "secret" not in refused.text
