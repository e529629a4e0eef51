"""The metrics pages and GET /metrics: who may read them, their forms (page, fragment,
JSON from one URL), and Prometheus' text format as its own parser reads it."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from pytest_django import Settings

from tests.unit.test_metrics import finish
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.metrics import reading
from webapp.tasks.models import ApiToken, Role, Status, TaskRecord

pytestmark = pytest.mark.django_db
PAGE = {"Accept": "text/html"}
HTMX = {"HX-Request": "true"}


def some_tasks() -> None:
    for i in range(1, 11):
        finish(Kind.SHORT, i / 10, float(i), Status.FAILURE if i == 10 else Status.SUCCESS)
    finish(Kind.CPU, 0.5, 2.0)


def test_a_kind_page_answers_json_a_fragment_and_a_page(client: Client) -> None:
    some_tasks()
    url = "/metrics/kinds/short/?window=hour"

    data = client.get(url).json()
    assert data["finished"] == 10
    assert data["by_outcome"] == {"SUCCESS": 9, "FAILURE": 1, "REVOKED": 0}
    assert data["failure_rate"] == 0.1
    assert set(data["run_time_seconds"]) == {"p50", "p95", "p99"}
    assert data["relative_error"] == 0.0625

    fragment = client.get(url, headers=HTMX).content.decode()
    assert 'id="metrics-report"' in fragment
    assert "<html" not in fragment

    page = client.get(url, headers=PAGE)
    html = page.content.decode()
    assert page["Vary"].count("Accept") >= 1
    assert "<svg" in html
    assert 'role="img"' in html
    assert "<desc" in html  # each chart's text alternative
    assert 'aria-current="page">Last hour' in html


def test_a_queue_page_and_the_overview_list_what_finished(client: Client) -> None:
    some_tasks()
    assert client.get("/metrics/queues/cpu/").json()["finished"] == 1
    overview = client.get("/metrics/overview/?window=week").json()
    by_name = {kind["name"]: kind for kind in overview["kinds"]}
    assert by_name["short"]["finished"] == 10
    assert by_name["cpu-heavy"]["queue"] == "cpu"
    assert {q["name"]: q["finished"] for q in overview["queues"]} == {"default": 10, "cpu": 1}
    html = client.get("/metrics/overview/", headers=PAGE).content.decode()
    assert 'href="/metrics/kinds/short/?window=day"' in html


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/metrics/kinds/nope/", 404, "no task kind named 'nope'"),
        ("/metrics/queues/nope/", 404, "no queue named 'nope'"),
        ("/metrics/kinds/short/?window=year", 400, "window must be one of hour, day, week"),
    ],
)
def test_bad_names_and_windows_are_told_apart(
    client: Client, url: str, status: int, says: str
) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert says in response.json()["error"]


def test_with_login_only_those_who_see_every_task_see_metrics(
    client: Client, settings: Settings
) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    assert client.get("/metrics/overview/").status_code == 401
    client.force_login(User.objects.create_user("alice"))  # an operator: own tasks only
    refused = client.get("/metrics/kinds/short/")
    assert refused.status_code == 403
    assert "needs permission tasks.view_all_tasks" in refused.json()["error"]
    viewer = User.objects.create_user("vic")
    viewer.groups.add(Group.objects.get(name="viewer"))
    client.force_login(viewer)
    assert client.get("/metrics/kinds/short/").status_code == 200
    client.force_login(User.objects.create_user("carol", is_staff=True))
    assert client.get("/metrics/kinds/short/").status_code == 200


def test_prometheus_needs_a_token_even_with_login_off(client: Client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    bad = client.get("/metrics", headers={"Authorization": "Bearer tdb_nope"})
    assert bad.status_code == 401


def test_prometheus_refuses_a_token_of_someone_who_sees_only_their_own_tasks(
    client: Client, settings: Settings
) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    _, token = ApiToken.issue(User.objects.create_user("alice"))
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_prometheus_text_parses_and_adds_up(client: Client, settings: Settings) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    some_tasks()
    _, token = ApiToken.issue(User.objects.create_user("prom", is_staff=True), role=Role.VIEWER)

    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    assert families["taskdash_tasks"].type == "gauge"
    tasks = {s.labels["status"]: s.value for s in families["taskdash_tasks"].samples}
    assert tasks["SUCCESS"] == 10
    assert tasks["FAILURE"] == 1
    finished = {
        (s.labels["kind"], s.labels["outcome"]): s.value
        for s in families["taskdash_tasks_finished"].samples
    }
    assert finished == {
        ("short", "SUCCESS"): 9,
        ("short", "FAILURE"): 1,
        ("cpu-heavy", "SUCCESS"): 1,
    }
    run = families["taskdash_task_run_seconds"]
    assert run.type == "histogram"
    short = [s for s in run.samples if s.labels.get("kind") == "short"]
    buckets = [s for s in short if s.name.endswith("_bucket")]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts)  # cumulative
    assert buckets[-1].labels["le"] == "+Inf"
    assert counts[-1] == 10
    # 1 .. 10 s: four below 4.194304 s (2**22 µs), eight below 8.388608 s.
    by_le = {s.labels["le"]: s.value for s in buckets}
    assert by_le["4.194304"] == 4
    assert by_le["8.388608"] == 8
    (total,) = [s.value for s in short if s.name.endswith("_sum")]
    assert total == pytest.approx(55, abs=0.5)  # each run a few ms over, as written


def test_a_running_task_gets_the_slower_than_usual_mark_once_time_passes_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for ran in range(1, 21):  # twenty short tasks of 1 .. 20 s: usually under ~19 s
        finish(Kind.SHORT, 0.1, float(ran))
    reading.forget_usual_run_times()
    running = TaskRecord.submit(Kind.SHORT)
    TaskRecord.mark_started(str(running.task_id), worker="w1", instance="i1")

    first = client.get("/tasks/?since=old", headers=HTMX)
    assert "slower than usual" not in first.content.decode()
    version = re.search(r"since=([0-9a-f]+)", first.content.decode())
    assert version

    # Nothing is written meanwhile: only the clock moves past the kind's p95.
    later = timezone.now() + timedelta(seconds=30)
    monkeypatch.setattr(timezone, "now", lambda: later)
    poll = client.get(f"/tasks/?since={version[1]}", headers=HTMX)

    assert poll.status_code == 200  # not 204: the version saw the row turn slow
    html = poll.content.decode()
    row = html[html.index(f'id="task-{running.task_id}"') :]
    row = row[: row.index("</tr>")]
    assert "slower than usual" in row
    assert 'aria-hidden="true">⏱</span>' in row  # the icon is decoration; the text says it
