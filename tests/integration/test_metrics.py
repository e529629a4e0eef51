"""Metrics over HTTP with a real worker: tasks run, and the kind's and queue's pages,
their JSON and the Prometheus scrape count them (on SQLite, and with --postgres on
PostgreSQL: the rollup's triggers are written for both)."""

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conftest import Stack
from tests.integration.conftest import submit, wait_for_status

SCRAPER = """
from django.contrib.auth.models import User
User.objects.filter(username="scraper").delete()
User.objects.create_user("scraper", is_staff=True)
"""


def metrics_of(client: httpx.Client, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_finished_tasks_show_on_the_metrics_pages_and_in_the_scrape(
    client: httpx.Client, stack: Stack
) -> None:
    # The stack is shared with other modules: count what these tasks add.
    instant_before = metrics_of(client, "/metrics/kinds/instant/?window=hour")
    failing_before = metrics_of(client, "/metrics/kinds/failing/?window=hour")
    queue_before = metrics_of(client, "/metrics/queues/default/?window=day")

    instant = [submit(client, 0)["task_id"] for _ in range(3)]
    failing = submit(client, 5)["task_id"]
    for task_id in instant:
        wait_for_status(client, task_id, "SUCCESS")
    wait_for_status(client, failing, "FAILURE", timeout=60)

    instant_after = metrics_of(client, "/metrics/kinds/instant/?window=hour")
    failing_after = metrics_of(client, "/metrics/kinds/failing/?window=hour")
    queue_after = metrics_of(client, "/metrics/queues/default/?window=day")
    assert instant_after["finished"] - instant_before["finished"] == 3
    assert failing_after["by_outcome"]["FAILURE"] - failing_before["by_outcome"]["FAILURE"] == 1
    assert queue_after["finished"] - queue_before["finished"] == 4
    assert instant_after["run_time_seconds"]["p50"] is not None
    assert instant_after["queue_wait_seconds"]["p99"] is not None
    assert failing_after["failure_rate"] > 0
    assert instant_after["buckets"][-1]["finished"] >= 3  # this minute's

    page = client.get("/metrics/kinds/failing/?window=hour", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert '<svg class="chart"' in page.text
    assert "Queue wait: p50, p95 and p99" in page.text

    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    stack.manage("shell", "-c", SCRAPER)
    token = stack.manage("create_token", "scraper", "--read-only").strip()
    scrape = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scrape.status_code == 200, scrape.text
    families = {f.name: f for f in text_string_to_metric_families(scrape.text)}
    finished = {
        (s.labels["kind"], s.labels["outcome"]): s.value
        for s in families["taskdash_tasks_finished"].samples
    }
    assert finished[("instant", "SUCCESS")] >= 3
    assert finished[("failing", "FAILURE")] >= 1
    depths = {s.labels["queue"] for s in families["taskdash_queue_depth"].samples}
    assert depths == {"default", "cpu"}
    run_counts = [
        s.value
        for s in families["taskdash_task_run_seconds"].samples
        if s.name.endswith("_count") and s.labels["kind"] == "instant"
    ]
    assert run_counts[0] >= 3
