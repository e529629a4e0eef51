"""Periodic schedules without services: what is accepted and refused (each a 400 naming
the field), that every write tells beat (PeriodicTasks.changed), django-celery-beat's
admin, and the table poll's cost whatever the number of schedules."""

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
    SolarSchedule,
)

from webapp.supervisor import PROCFILE, read_procfile
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import ApiToken, Schedule, TaskRecord
from webapp.tasks.running import schedules
from webapp.tasks.table import query

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}


def post_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", headers=JSON)


def add(client: Client, **body: Any) -> dict[str, Any]:
    response = post_json(client, "/schedules/", body)
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_it_adds_an_interval_schedule_with_parameters(client: Client) -> None:
    added = add(client, type="short", params={"seconds": 3}, every=2, period="seconds")

    assert added["kind_name"] == "short"
    assert added["params"] == {"seconds": 3}
    assert (added["every"], added["period"], added["cron"]) == (2, "seconds", None)
    assert added["enabled"] is True
    assert added["next_run_at"] is not None
    task = PeriodicTask.objects.get(dashboard__pk=added["id"])
    assert task.task == "tasks.launch_scheduled"
    assert json.loads(task.kwargs) == {"schedule_id": added["id"]}
    assert task.interval is not None
    assert (task.interval.every, task.interval.period) == (2, "seconds")


def test_it_adds_a_cron_schedule_with_the_defaults(client: Client) -> None:
    added = add(client, type=0, cron="*/5  9-17 * * mon-fri")

    assert added["cron"] == "*/5 9-17 * * mon-fri"
    assert added["every"] is None
    task = PeriodicTask.objects.get(dashboard__pk=added["id"])
    assert task.crontab is not None
    assert task.crontab.hour == "9-17"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"type": "short", "every": 0}, "every", "whole number from 1"),
        ({"type": "short", "every": -3}, "every", "whole number from 1"),
        ({"type": "short", "every": "2"}, None, None),  # a JSON string of digits is read
        ({"type": "short", "every": True}, "every", "whole number"),
        ({"type": "short", "every": 2, "period": "weeks"}, "period", "seconds, minutes"),
        ({"type": "short", "cron": "*/5 * * *"}, "cron", "five fields"),
        ({"type": "short", "cron": "61 * * * *"}, "cron", "does not parse"),
        ({"type": "short", "cron": "* * * * * *"}, "cron", "five fields"),
        ({"type": "short", "cron": "* * * * *", "every": 2}, "cron", "not both"),
        ({"type": "short"}, "every", "or `cron`"),
        ({"type": "nonsense", "every": 2}, "type", "not a task type"),
        ({"every": 2}, "type", "`type` is missing"),
        ({"type": "short", "every": 2, "params": {"speed": 1}}, "speed", "no parameter 'speed'"),
        ({"type": "short", "every": 2, "params": {"seconds": 10**6}}, "seconds", "`seconds`"),
        ({"type": "short", "every": 2, "params": [1]}, "params", "JSON object"),
        ({"type": "short", "every": 2, "enabled": "maybe"}, "enabled", "true or false"),
        ({"type": "short", "every": 2, "seconds": 4}, "seconds", "inside `params`"),
    ],
)
def test_it_refuses_each_bad_field_naming_it(
    client: Client, body: dict[str, Any], field: str | None, says: str | None
) -> None:
    response = post_json(client, "/schedules/", body)

    if field is None:
        assert response.status_code == 201, response.content
        return
    assert response.status_code == 400, response.content
    answer = response.json()
    assert field in answer["errors"], answer
    assert says in answer["errors"][field]
    assert says in answer["error"]
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.exists()


def test_a_refused_form_comes_back_with_the_error_next_to_its_field(client: Client) -> None:
    response = client.post(
        "/schedules/",
        {"type": "short", "seconds": "4", "every": "0", "period": "seconds", "cron": ""},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="schedule-every-error"' in page
    assert 'aria-invalid="true"' in page
    assert 'value="4"' in page  # what was typed stays
    assert not Schedule.objects.exists()


def test_a_form_with_a_cron_expression_ignores_the_unit_select(client: Client) -> None:
    response = client.post(
        "/schedules/",
        {"type": "instant", "every": "", "period": "seconds", "cron": "0 3 * * *"},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 303
    assert PeriodicTask.objects.get().crontab is not None


def test_a_form_adds_a_schedule_and_redirects_to_the_list(client: Client) -> None:
    response = client.post(
        "/schedules/",
        {"type": "short", "seconds": "4", "every": "3", "period": "minutes", "cron": ""},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 303
    assert response["Location"] == "/schedules/"
    schedule = Schedule.objects.get()
    assert schedule.params == {"seconds": 4}
    page = client.get("/schedules/", headers={"Accept": "text/html"}).content.decode()
    assert "every 3 minutes" in page


def test_it_edits_what_is_sent_and_keeps_the_rest(client: Client) -> None:
    added = add(client, type="short", params={"seconds": 3}, every=2, period="seconds")

    edited = post_json(client, added["url"], {"cron": "0 * * * *"}).json()
    again = post_json(client, added["url"], {"params": {"seconds": 5}, "enabled": False}).json()

    assert (edited["cron"], edited["params"]) == ("0 * * * *", {"seconds": 3})
    assert (again["cron"], again["params"], again["enabled"]) == (
        "0 * * * *",
        {"seconds": 5},
        False,
    )
    assert again["next_run_at"] is None
    assert post_json(client, added["url"], {"every": 0}).status_code == 400
    assert PeriodicTask.objects.get().crontab is not None


def test_every_write_tells_beat(client: Client) -> None:
    def stamp() -> Any:
        return PeriodicTasks.last_change()

    added = add(client, type="short", every=2, period="seconds")
    steps = [stamp()]
    post_json(client, added["url"], {"every": 3})
    steps.append(stamp())
    client.post(f"{added['url']}disable/", headers=JSON)
    steps.append(stamp())
    client.post(f"{added['url']}enable/", headers=JSON)
    steps.append(stamp())
    client.delete(added["url"], headers=JSON)
    steps.append(stamp())

    assert None not in steps
    assert steps == sorted(steps), steps
    assert len(set(steps)) == len(steps), steps
    assert not PeriodicTask.objects.exists()


def test_disabling_stops_the_next_run_and_enabling_brings_it_back(client: Client) -> None:
    added = add(client, type="short", every=2, period="seconds")

    disabled = client.post(f"{added['url']}disable/", headers=JSON).json()
    enabled = client.post(f"{added['url']}enable/", headers=JSON).json()

    assert (disabled["enabled"], disabled["next_run_at"]) == (False, None)
    assert enabled["enabled"] is True
    assert enabled["next_run_at"] is not None
    assert PeriodicTask.objects.get().enabled is True


def test_an_unknown_or_malformed_id_is_a_readable_404(client: Client) -> None:
    for url in ("/schedules/999/", "/schedules/x1/", "/schedules/999/run/"):
        method = client.get if url.count("/") == 3 else client.post
        response = method(url, headers=JSON)
        assert response.status_code == 404, url
        assert "no schedule with id" in response.json()["error"]


def test_someone_elses_schedule_is_a_404_with_login_on(settings: Any, client: Client) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    alice = User.objects.create_user("alice", password="x")
    bob = User.objects.create_user("bob", password="x")
    staff = User.objects.create_user("carol", password="x", is_staff=True)
    client.force_login(alice)
    added = add(client, type="short", every=2, period="seconds")
    assert Schedule.objects.get().owner == alice

    client.force_login(bob)
    listed_for_bob = client.get("/schedules/", headers=JSON).json()["schedules"]
    bobs_get = client.get(added["url"], headers=JSON)
    bobs_delete = client.delete(added["url"], headers=JSON)
    client.force_login(staff)
    listed_for_staff = client.get("/schedules/", headers=JSON).json()["schedules"]

    assert listed_for_bob == []
    assert bobs_get.status_code == 404
    assert bobs_delete.status_code == 404
    assert [s["owner"] for s in listed_for_staff] == ["alice"]


def test_curl_with_a_token_steers_schedules_a_read_only_token_only_reads(settings: Any) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    dora = User.objects.create_user("dora", password="x")
    _, token = ApiToken.issue(dora)
    _, reader = ApiToken.issue(dora, read_only=True)
    curl = Client()  # no cookies: the CSRF check does not apply, the token does
    body = json.dumps({"type": "short", "every": 2})

    anonymous = curl.post("/schedules/", body, content_type="application/json")
    added = curl.post(
        "/schedules/",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    read = curl.get("/schedules/", headers={"Authorization": f"Bearer {reader}"})
    refused = curl.post(
        f"{added.json()['url']}disable/", headers={"Authorization": f"Bearer {reader}"}
    )

    assert anonymous.status_code == 401
    assert added.status_code == 201
    assert Schedule.objects.get().owner == dora
    assert read.json()["schedules"][0]["owner"] == "dora"
    assert refused.status_code == 403
    assert PeriodicTask.objects.get().enabled is True


def test_a_browser_post_without_the_csrf_token_is_refused() -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.get("/schedules/", headers={"Accept": "text/html"})  # takes the CSRF cookie

    response = browser.post(
        "/schedules/",
        {"type": "short", "every": "2", "period": "seconds"},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 403
    assert not Schedule.objects.exists()


def test_the_pages_render_with_links_from_url_names(client: Client) -> None:
    added = add(client, type="short", params={"seconds": 3}, every=2, period="seconds")

    page = client.get("/schedules/?type=short", headers={"Accept": "text/html"})
    detail = client.get(added["url"], headers={"Accept": "text/html"})
    bad_entry = client.get("/schedules/?type=nope", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert 'name="seconds"' in page.content.decode()  # the chosen entry's parameters
    assert detail.status_code == 200
    assert "No runs yet." in detail.content.decode()
    assert f'action="/schedules/{added["id"]}/run/"' in detail.content.decode()
    assert bad_entry.status_code == 400


def test_a_run_links_back_to_its_schedule_in_the_table_its_page_and_json(
    client: Client,
) -> None:
    added = add(client, type="short", every=2, period="seconds")
    run = TaskRecord.submit(Kind.SHORT, schedule=Schedule.objects.get())
    TaskRecord.submit(Kind.SHORT)  # not a scheduled run

    table = client.get("/", headers={"Accept": "text/html"}).content.decode()
    page = client.get(run.url, headers={"Accept": "text/html"}).content.decode()
    answer = client.get(run.url, headers=JSON).json()

    link = f'<a href="{added["url"]}">schedule {added["id"]}</a>'
    assert table.count(link) == 1
    assert link in page
    assert answer["schedule"] == added["url"]


def test_next_run_counts_from_the_last_launch(client: Client) -> None:
    added = add(client, type="short", every=1, period="hours")
    schedule = Schedule.objects.select_related("periodic_task").get()
    schedule.last_fired_at = timezone.now() - timedelta(minutes=15)

    upcoming = schedules.next_run_at(schedule)

    assert upcoming is not None
    left = (upcoming - timezone.now()).total_seconds()
    assert 44 * 60 < left <= 45 * 60, added


ADMIN_PAGES = [
    "/admin/django_celery_beat/periodictask/",
    "/admin/django_celery_beat/periodictask/add/",
    "/admin/django_celery_beat/intervalschedule/",
    "/admin/django_celery_beat/intervalschedule/add/",
    "/admin/django_celery_beat/crontabschedule/",
    "/admin/django_celery_beat/crontabschedule/add/",
    "/admin/django_celery_beat/clockedschedule/",
    "/admin/django_celery_beat/solarschedule/",
    "/admin/tasks/schedule/",
]


def test_beats_admin_pages_load_for_staff(admin_client: Client) -> None:
    admin_client.post(
        "/schedules/",
        json.dumps({"type": "short", "every": 2}),
        content_type="application/json",
        headers=JSON,
    )
    cron = CrontabSchedule.objects.create(minute="0")
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    SolarSchedule.objects.create(event="sunset", latitude=48.85, longitude=2.35)
    task = PeriodicTask.objects.get()
    interval = IntervalSchedule.objects.get()
    pages = [
        *ADMIN_PAGES,
        f"/admin/django_celery_beat/periodictask/{task.pk}/change/",
        f"/admin/django_celery_beat/intervalschedule/{interval.pk}/change/",
        f"/admin/django_celery_beat/crontabschedule/{cron.pk}/change/",
        f"/admin/tasks/schedule/{Schedule.objects.get().pk}/change/",
    ]

    statuses = {page: admin_client.get(page).status_code for page in pages}

    assert set(statuses.values()) == {200}, statuses
    listing = admin_client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert "Dashboard schedule" in listing


def test_the_admin_edits_a_periodic_task(admin_client: Client) -> None:
    admin_client.post(
        "/schedules/",
        json.dumps({"type": "short", "every": 2}),
        content_type="application/json",
        headers=JSON,
    )
    task = PeriodicTask.objects.get()
    form = admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert form.status_code == 200

    changed = admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [task.pk]},
    )

    assert changed.status_code == 302
    task.refresh_from_db()
    assert task.enabled is False


def version_in(fragment: bytes) -> str:
    match = re.search(rb"since=([0-9a-f]+)", fragment)
    assert match, fragment[:300]
    return match.group(1).decode()


@pytest.mark.parametrize("count", [0, 30])
def test_the_unchanged_poll_is_one_query_however_many_schedules(
    client: Client, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query, "WORKER_CHECK_SECONDS", 10**9)
    for _ in range(count):
        schedules.save_schedule(
            schedules.ScheduleData(kind=Kind.SHORT, params={"seconds": 1}, enabled=True, every=5)
        )
    version = version_in(client.get("/tasks/", headers={"HX-Request": "true"}).content)

    with CaptureQueriesContext(connection) as queries:
        poll = client.get(f"/tasks/?since={version}", headers={"HX-Request": "true"})

    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert poll.status_code == 204


def test_the_list_takes_the_same_queries_however_many_schedules_and_runs(client: Client) -> None:
    counts = []
    for more in (1, 20):
        for _ in range(more):
            schedule = schedules.save_schedule(
                schedules.ScheduleData(
                    kind=Kind.SHORT, params={"seconds": 1}, enabled=True, every=5
                )
            )
            TaskRecord.submit(Kind.SHORT, schedule=schedule)
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/schedules/", headers={"Accept": "text/html"})
            answer = client.get("/schedules/", headers=JSON)
        assert page.status_code == 200
        assert all(s["last_run_at"] for s in answer.json()["schedules"])
        counts.append(len(queries))

    assert counts[0] == counts[1], counts


DATABASE_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"


def test_make_run_and_compose_start_beat_with_the_database_scheduler() -> None:
    procfile = dict(read_procfile(PROCFILE))
    compose = yaml.safe_load((Path(PROCFILE).parent / "compose.yaml").read_text())
    beat_command = " ".join(compose["services"]["beat"]["command"])

    assert f"--scheduler {DATABASE_SCHEDULER}" in procfile["beat"]
    assert f"--scheduler={DATABASE_SCHEDULER}" in beat_command
    assert "migrate_when_ready" in beat_command  # its tables exist before it reads them
    assert "db" in compose["services"]["beat"]["depends_on"]
