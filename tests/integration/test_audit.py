"""The audit trail over HTTP with a real worker: every change leaves one entry saying
who, when, through what, from where and what it touched; refused actions leave
none; /audit/ lists them newest first, filtered, as a page or JSON, to staff only;
nobody can change an entry, in the admin or anywhere else."""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conftest import Stack, free_port, start_web, wait_for
from tests.integration.conftest import wait_for_status

USERS = """
from django.contrib.auth.models import User
for name, staff in [("audra", True), ("otto", False)]:
    User.objects.filter(username=name).delete()
    User.objects.create_user(name, password=f"{name}-secret-pw", is_staff=staff, is_superuser=staff)
"""
HTMX = {"HX-Request": "true"}
PAGE_SIZE = 50  # audit_views.PAGE_SIZE


@dataclass
class Server:
    url: str
    stack: Stack
    tokens: dict[str, str]

    def api(self, user: str, address: str) -> httpx.Client:
        """A script with `user`'s token, behind the one proxy, at `address`."""
        headers = {
            "Authorization": f"Bearer {self.tokens[user]}",
            "Accept": "application/json",
            "X-Forwarded-For": address,
        }
        return httpx.Client(base_url=self.url, headers=headers, timeout=15)

    def browser(self, user: str, address: str) -> "Browser":
        return Browser(self.url, user, address)

    def entries(self, **filters: str) -> list[dict[str, Any]]:
        with self.api("audra", "10.9.9.9") as reader:
            response = reader.get("/audit/", params=filters)
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])

    def entry(self, **filters: str) -> dict[str, Any]:
        """The newest entry matching `filters`, which must exist."""
        found = self.entries(**filters)
        assert found, f"no audit entry for {filters}"
        return found[0]


class Browser(httpx.Client):
    """A person logged in with a session, behind the one proxy, at `address`."""

    def __init__(self, url: str, user: str, address: str) -> None:
        super().__init__(
            base_url=url,
            headers={"Accept": "text/html", "X-Forwarded-For": address, "Origin": url},
            timeout=15,
        )
        self.user = user

    def __enter__(self) -> "Browser":
        super().__enter__()
        self.log_in()
        return self

    def log_in(self) -> None:
        user = self.user
        form = self.get("/accounts/login/").text
        response = self.post(
            "/accounts/login/",
            data={
                "username": user,
                "password": f"{user}-secret-pw",
                "csrfmiddlewaretoken": field(form, "csrfmiddlewaretoken"),
            },
        )
        assert response.status_code == 302, response.text[:300]
        self.csrf = re.findall(r'"X-CSRFToken": "([^"]+)"', self.get("/").text)[0]

    def submit(self, path: str, data: dict[str, str], htmx: bool = False) -> httpx.Response:
        headers = {"X-CSRFToken": self.csrf} | (HTMX if htmx else {})
        return self.post(path, data=data, headers=headers)


def field(html: str, name: str) -> str:
    return html.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]


@pytest.fixture(scope="module")
def server(stack: Stack) -> Iterator[Server]:
    stack.manage("shell", "-c", USERS)
    tokens = {
        name: stack.manage("create_token", name, "--name", f"{name}-script").strip()
        for name in ("audra", "otto")
    }
    port = free_port()
    # One proxy in front: X-Forwarded-For says each client's address.
    env = stack.env | {"DASHBOARD_REQUIRE_LOGIN": "true", "PROXY_COUNT": "1"}
    web = start_web(stack, port, env=env)
    yield Server(f"http://127.0.0.1:{port}", stack, tokens)
    web.stop()


def recently(entry: dict[str, Any]) -> bool:
    at = datetime.fromisoformat(entry["at"])
    return datetime.now(UTC) - timedelta(minutes=2) < at <= datetime.now(UTC)


def launch(client: httpx.Client, kind: int = 0, **fields: str) -> str:
    response = client.post("/tasks/", data={"type": str(kind), **fields})
    assert response.status_code == 202, response.text
    return str(response.json()["task_id"])


def cancelled_task(client: httpx.Client) -> str:
    task_id = launch(client, 3)
    assert client.post(f"/tasks/{task_id}/cancel/").status_code == 200
    return task_id


# --- Each change, one entry ------------------------------------------------------------


def test_a_launch_by_curl_records_the_token_user_address_and_task(server: Server) -> None:
    with server.api("otto", "10.1.0.1") as otto:
        task_id = launch(otto)

    entry = server.entry(task=task_id)

    assert entry["action"] == "task.launch"
    assert entry["username"] == "otto"
    assert entry["token_name"] == "otto-script"
    assert entry["token_id"] is not None
    assert entry["through"] == "api"
    assert entry["address"] == "10.1.0.1"
    assert entry["details"] == {"kind": "instant"}
    assert recently(entry)


def test_a_launch_from_the_dashboard_buttons_is_recorded_as_htmx(server: Server) -> None:
    with server.browser("otto", "10.1.0.2") as otto:
        response = otto.submit("/tasks/", {"type": "0"}, htmx=True)
    assert response.status_code == 201

    entry = server.entries(action="task.launch", who="otto", through="htmx")[0]

    assert entry["address"] == "10.1.0.2"
    assert entry["token_id"] is None
    assert recently(entry)


def test_a_launch_from_the_catalogue_form_without_javascript_is_recorded_as_browser(
    server: Server,
) -> None:
    with server.browser("otto", "10.1.0.3") as otto:
        response = otto.submit("/tasks/", {"type": "notify", "message": "hello"})
    assert response.status_code == 303

    entry = server.entries(action="task.launch", who="otto", through="browser")[0]

    assert entry["address"] == "10.1.0.3"
    assert entry["details"] == {"kind": "notify"}


def test_a_launch_as_json_is_recorded(server: Server) -> None:
    with server.api("otto", "10.1.0.4") as otto:
        response = otto.post("/tasks/", json={"type": 0})
    task_id = response.json()["task_id"]

    assert server.entry(task=task_id)["action"] == "task.launch"


def test_cancelling_a_running_task_is_recorded(server: Server) -> None:
    with server.api("otto", "10.1.0.5") as otto:
        task_id = launch(otto, 3)
        wait_for_status(otto, task_id, "STARTED")
        assert otto.post(f"/tasks/{task_id}/cancel/").status_code == 200

    entry = server.entry(task=task_id, action="task.cancel")

    assert (entry["username"], entry["address"], entry["through"]) == ("otto", "10.1.0.5", "api")


def test_a_refused_cancel_leaves_no_entry(server: Server) -> None:
    with server.api("otto", "10.1.0.6") as otto:
        task_id = launch(otto)
        wait_for_status(otto, task_id, "SUCCESS")
        refused = otto.post(f"/tasks/{task_id}/cancel/")

    assert refused.status_code == 409
    assert [e["action"] for e in server.entries(task=task_id)] == ["task.launch"]


def test_a_retry_is_recorded_with_the_new_task(server: Server) -> None:
    with server.api("otto", "10.1.0.7") as otto:
        task_id = cancelled_task(otto)
        new_id = otto.post(f"/tasks/{task_id}/retry/").json()["task_id"]
        otto.post(f"/tasks/{new_id}/cancel/")

    entry = server.entry(task=task_id, action="task.retry")

    assert entry["details"] == {"new_task": new_id}


def test_running_a_scheduled_task_now_is_recorded(server: Server) -> None:
    with server.api("otto", "10.1.0.8") as otto:
        task_id = launch(otto, countdown="3600")
        assert otto.post(f"/tasks/{task_id}/run-now/").status_code == 200

    assert server.entry(task=task_id, action="task.run_now")["username"] == "otto"


def test_a_delete_confirmed_in_the_browser_is_recorded(server: Server) -> None:
    with server.api("otto", "10.1.0.9") as otto:
        task_id = cancelled_task(otto)
    with server.browser("otto", "10.1.0.10") as browser:
        response = browser.submit(f"/tasks/{task_id}/delete/", {"confirm": "yes"})
    assert response.status_code == 303

    entry = server.entry(task=task_id, action="task.delete")

    assert (entry["through"], entry["address"]) == ("browser", "10.1.0.10")
    assert entry["details"] == {"status": "REVOKED"}


def test_clearing_finished_tasks_records_how_many(server: Server) -> None:
    with server.api("otto", "10.1.0.11") as otto:
        cancelled_task(otto)
        cleared = otto.post("/tasks/clear/").json()["deleted"]

    entry = server.entries(action="tasks.clear", who="otto")[0]

    assert entry["count"] == cleared >= 1
    assert entry["address"] == "10.1.0.11"


def test_pausing_and_resuming_a_queue_are_recorded(server: Server) -> None:
    with server.api("audra", "10.1.0.12") as audra:
        assert audra.post("/queues/cpu/pause/").json()["changed"]
        assert audra.post("/queues/cpu/resume/").json()["changed"]

    paused = server.entries(action="queue.pause", who="audra")[0]
    resumed = server.entries(action="queue.resume", who="audra")[0]

    assert paused["queue"] == resumed["queue"] == "cpu"
    assert paused["id"] < resumed["id"]
    assert paused["address"] == "10.1.0.12"


def test_each_schedule_change_is_recorded(server: Server) -> None:
    with server.api("otto", "10.1.0.13") as otto:
        schedule = otto.post("/schedules/", json={"type": 0, "every": 1, "period": "days"}).json()
        path = f"/schedules/{schedule['id']}/"
        otto.post(path, json={"type": 0, "every": 2, "period": "days"})
        otto.post(f"{path}disable/")
        otto.post(f"{path}enable/")
        run = otto.post(f"{path}run/").json()
        otto.delete(path)

    entries = [e for e in server.entries(who="otto") if e["schedule_id"] == schedule["id"]]

    assert [e["action"] for e in reversed(entries)] == [
        "schedule.create",
        "schedule.edit",
        "schedule.disable",
        "schedule.enable",
        "schedule.run_now",
        "schedule.delete",
    ]
    assert entries[1]["task_id"] == run["task_id"]
    assert {e["address"] for e in entries} == {"10.1.0.13"}


def test_tokens_created_and_revoked_with_manage_py_are_recorded(server: Server) -> None:
    server.stack.manage("create_token", "otto", "--name", "to-revoke")
    server.stack.manage("revoke_token", "--user", "otto", "--name", "to-revoke")

    created = server.entries(action="token.create", through="command")[0]
    revoked = server.entries(action="token.revoke", through="command")[0]

    assert created["details"]["token"]["name"] == revoked["details"]["token"]["name"] == "to-revoke"
    assert created["details"]["token"]["user"] == "otto"
    assert created["details"]["token"]["id"] == revoked["details"]["token"]["id"]
    assert "os_user" in created["details"]


def test_a_token_revoked_in_the_admin_is_recorded(server: Server) -> None:
    server.stack.manage("create_token", "otto", "--name", "admin-revokes")
    (token_id,) = server.stack.fetch(
        "SELECT id FROM tasks_apitoken WHERE name = 'admin-revokes' AND revoked_at IS NULL"
    )[0]
    with server.browser("audra", "10.1.0.14") as admin:
        page = admin.get("/admin/tasks/apitoken/").text
        response = admin.post(
            "/admin/tasks/apitoken/",
            data={
                "action": "revoke",
                "_selected_action": str(token_id),
                "csrfmiddlewaretoken": field(page, "csrfmiddlewaretoken"),
            },
        )
    assert response.status_code == 302

    entry = server.entries(action="token.revoke", through="admin")[0]

    assert entry["details"]["token"]["id"] == token_id
    assert (entry["username"], entry["address"]) == ("audra", "10.1.0.14")


def test_a_failed_login_is_recorded_with_the_name_tried(server: Server) -> None:
    with httpx.Client(
        base_url=server.url, headers={"Accept": "text/html", "X-Forwarded-For": "10.1.0.15"}
    ) as stranger:
        form = stranger.get("/accounts/login/").text
        stranger.post(
            "/accounts/login/",
            data={
                "username": "otto",
                "password": "guess",
                "csrfmiddlewaretoken": field(form, "csrfmiddlewaretoken"),
            },
            headers={"Origin": server.url},
        )

    entry = server.entries(action="login.failed")[0]

    assert entry["username"] is None
    assert entry["details"] == {"username_tried": "otto"}
    assert entry["address"] == "10.1.0.15"


def test_a_refused_token_is_recorded_by_its_prefix_only(server: Server) -> None:
    wrong = "tdb_" + uuid.uuid4().hex
    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {wrong}", "X-Forwarded-For": "10.1.0.16"},
    ) as script:
        assert script.get("/tasks/").status_code == 401

    entry = server.entries(action="token.refused")[0]

    assert entry["details"] == {"prefix": wrong[:12], "why": "That token is not valid."}
    assert entry["address"] == "10.1.0.16"
    assert wrong not in str(entry)


# --- Reading the trail -----------------------------------------------------------------


def test_the_trail_filters_by_action_who_through_day_and_task(server: Server) -> None:
    with server.api("otto", "10.2.0.1") as otto:
        task_id = cancelled_task(otto)
    today = datetime.now(UTC).date()

    by_task = server.entries(task=task_id)
    by_action = server.entries(action="task.cancel", who="otto", through="api")
    by_day = server.entries(since=str(today), until=str(today), task=task_id)
    yesterday = server.entries(until=str(today - timedelta(days=1)), task=task_id)
    by_other = server.entries(who="audra", task=task_id)

    assert [e["action"] for e in by_task] == ["task.cancel", "task.launch"]
    assert by_action[0]["task_id"] == task_id
    assert all(e["action"] == "task.cancel" and e["username"] == "otto" for e in by_action)
    assert len(by_day) == 2
    assert yesterday == by_other == []


def test_the_trail_pages_newest_first_by_key(server: Server) -> None:
    with server.api("otto", "10.2.0.2") as otto:
        launched = [launch(otto) for _ in range(PAGE_SIZE + 5)]
    pages = []
    with server.api("audra", "10.9.9.9") as reader:
        url: str | None = "/audit/?action=task.launch&who=otto&through=api"
        while url:
            page = reader.get(url).json()
            pages.append([e["id"] for e in page["entries"]])
            url = page["older"]
        newest = reader.get("/audit/", params={"who": "otto", "through": "api"}).json()
    seen = [entry for page in pages for entry in page]

    assert len(pages) >= 2
    assert all(len(page) == PAGE_SIZE for page in pages[:-1])
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen))
    assert [e["task_id"] for e in newest["entries"]] == launched[::-1][:PAGE_SIZE]


def test_bad_filters_are_a_400_that_says_why(server: Server) -> None:
    with server.api("audra", "10.9.9.9") as reader:
        answers = {
            name: reader.get("/audit/", params={name: value})
            for name, value in [
                ("action", "task.explode"),
                ("through", "carrier-pigeon"),
                ("since", "yesterday"),
                ("task", "3fa8"),
                ("before", "-1"),
            ]
        }

    for name, response in answers.items():
        assert response.status_code == 400, name
        assert f"`{name}`" in response.json()["error"]


def test_the_trail_is_a_page_for_browsers(server: Server) -> None:
    with server.api("otto", "10.2.0.3") as otto:
        task_id = launch(otto)
    with server.browser("audra", "10.2.0.4") as browser:
        page = browser.get("/audit/", params={"task": task_id})
        fragment = browser.get("/audit/", params={"task": task_id}, headers=HTMX)

    assert page.status_code == 200
    assert "Audit trail" in page.text
    assert task_id[:8] in page.text
    assert "otto (token otto-script)" in page.text
    assert "10.2.0.3" in page.text
    assert "Accept" in page.headers["Vary"]
    assert fragment.text.lstrip().startswith('<section id="audit-entries"')
    assert task_id[:8] in fragment.text


def test_only_those_with_view_audit_may_read_the_trail(server: Server) -> None:
    with server.api("otto", "10.2.0.5") as otto:
        refused = otto.get("/audit/")
    with httpx.Client(base_url=server.url, headers={"Accept": "application/json"}) as anonymous:
        stranger = anonymous.get("/audit/")

    assert refused.status_code == 403
    assert refused.json()["error"].startswith("Forbidden: needs permission tasks.view_audit")
    assert stranger.status_code == 401


def test_no_url_changes_an_entry(server: Server) -> None:
    entry = server.entries()[0]
    with server.api("audra", "10.9.9.9") as staff:
        answers = [
            staff.post("/audit/", json={"id": entry["id"]}),
            staff.delete("/audit/"),
            staff.put("/audit/", json={}),
        ]

    assert [r.status_code for r in answers] == [405, 405, 405]
    assert server.entries()[0] == entry


def test_the_admin_shows_entries_read_only(server: Server) -> None:
    entry = server.entries()[0]
    change = f"/admin/tasks/auditentry/{entry['id']}/change/"
    with server.browser("audra", "10.2.0.6") as admin:
        listed = admin.get("/admin/tasks/auditentry/")
        shown = admin.get(change)
        token = field(listed.text, "csrfmiddlewaretoken")
        add = admin.get("/admin/tasks/auditentry/add/")
        edited = admin.post(change, data={"action": "task.delete", "csrfmiddlewaretoken": token})
        deleted = admin.post(
            f"/admin/tasks/auditentry/{entry['id']}/delete/",
            data={"post": "yes", "csrfmiddlewaretoken": token},
        )

    assert listed.status_code == shown.status_code == 200
    assert 'name="_save"' not in shown.text
    assert (add.status_code, edited.status_code, deleted.status_code) == (403, 403, 403)
    assert server.entries()[0] == entry


def test_deleting_a_user_keeps_the_entries_naming_them(server: Server) -> None:
    server.stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='leaver').delete(); "
        "User.objects.create_user('leaver', password='leaver-secret-pw')",
    )
    server.tokens["leaver"] = server.stack.manage("create_token", "leaver").strip()
    with server.api("leaver", "10.2.0.7") as leaver:
        task_id = launch(leaver)
    server.stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; User.objects.get(username='leaver').delete()",
    )

    entry = wait_for(lambda: server.entries(task=task_id), 5, "the entry")[0]

    assert entry["username"] == "leaver"


def test_a_failed_login_with_a_nul_in_its_name_is_recorded_readably(server: Server) -> None:
    with httpx.Client(
        base_url=server.url, headers={"Accept": "text/html", "X-Forwarded-For": "10.1.0.17"}
    ) as stranger:
        form = stranger.get("/accounts/login/").text
        answer = stranger.post(
            "/accounts/login/",
            data={
                "username": "ot\x00to",
                "password": "guess",
                "csrfmiddlewaretoken": field(form, "csrfmiddlewaretoken"),
            },
            headers={"Origin": server.url},
        )
    with server.api("audra", "10.9.9.9") as reader:
        who = reader.get("/audit/", params={"who": "ot\x00to"})

    assert answer.status_code == 200
    entry = server.entries(action="login.failed")[0]
    assert entry["details"] == {"username_tried": "ot\ufffdto"}
    assert who.status_code == 400
