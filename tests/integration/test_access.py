"""With DASHBOARD_REQUIRE_LOGIN, only logged-in users and token holders get in, and
users who are not staff see and steer only their own tasks."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PAGE_SIZE, Stack, free_port, start_web

USERS = """
from django.contrib.auth.models import User
for name, staff in [("alice", False), ("bob", False), ("carol", True)]:
    User.objects.filter(username=name).delete()
    User.objects.create_user(name, password=f"{name}-secret-pw", is_staff=staff)
"""


@dataclass
class Secured:
    url: str
    tokens: dict[str, str]

    def as_user(self, name: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[name]}", "Accept": "*/*"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=15)


@pytest.fixture(scope="module")
def secured(stack: Stack) -> Iterator[Secured]:
    stack.manage("shell", "-c", USERS)
    tokens = {
        name: stack.manage("create_token", name).strip() for name in ("alice", "bob", "carol")
    }
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"DASHBOARD_REQUIRE_LOGIN": "true"})
    yield Secured(f"http://127.0.0.1:{port}", tokens)
    web.stop()


def test_anonymous_json_client_gets_401_and_nothing_else(secured: Secured) -> None:
    listing = httpx.get(f"{secured.url}/tasks/")
    submit = httpx.post(f"{secured.url}/tasks/", data={"type": "0"})

    for response in (listing, submit):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert list(response.json()) == ["error"]
        assert "task_id" not in response.text


def test_anonymous_browser_is_sent_to_the_login_page(secured: Secured) -> None:
    response = httpx.get(f"{secured.url}/", headers={"Accept": "text/html"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/"


def test_a_wrong_token_is_401(secured: Secured) -> None:
    response = httpx.get(f"{secured.url}/tasks/", headers={"Authorization": "Bearer tdb_nope"})

    assert response.status_code == 401
    assert response.json() == {"error": "That token is not valid."}


def test_health_check_stays_open(secured: Secured) -> None:
    assert httpx.get(f"{secured.url}/healthz").status_code == 200


def test_users_see_and_steer_only_their_own_tasks(secured: Secured) -> None:
    with secured.as_user("alice") as alice, secured.as_user("bob") as bob:
        mine = alice.post("/tasks/", data={"type": "3"}).json()["task_id"]

        bobs_list = [t["task_id"] for t in bob.get("/tasks/").json()["tasks"]]
        bob_reads = bob.get(f"/tasks/{mine}/")
        bob_cancels = bob.post(f"/tasks/{mine}/cancel/")
        alices_list = [t["task_id"] for t in alice.get("/tasks/").json()["tasks"]]
        alice_cancels = alice.post(f"/tasks/{mine}/cancel/")

    assert mine not in bobs_list
    assert bob_reads.status_code == 404
    assert bob_cancels.status_code == 404
    assert "no task with id" in bob_cancels.json()["error"]
    assert mine in alices_list
    assert alice_cancels.status_code == 200


def test_staff_see_everyones_tasks(secured: Secured) -> None:
    with secured.as_user("alice") as alice, secured.as_user("carol") as carol:
        alices = alice.post("/tasks/", data={"type": "0"}).json()["task_id"]

        seen_by_staff = carol.get(f"/tasks/{alices}/")

    assert seen_by_staff.status_code == 200


def test_counts_are_per_user_for_users_who_are_not_staff(secured: Secured) -> None:
    with secured.as_user("bob") as bob, secured.as_user("carol") as carol:
        bob.post("/tasks/", data={"type": "0"})

        bobs = bob.get("/tasks/").json()["counts"]
        everyones = carol.get("/tasks/").json()["counts"]

    assert sum(bobs.values()) < sum(everyones.values())


def test_browser_login_opens_the_dashboard(secured: Secured) -> None:
    with httpx.Client(base_url=secured.url, headers={"Accept": "text/html"}) as browser:
        form = browser.get("/accounts/login/?next=/").text
        token = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        logged_in = browser.post(
            "/accounts/login/",
            data={
                "username": "alice",
                "password": "alice-secret-pw",
                "next": "/",
                "csrfmiddlewaretoken": token,
            },
            headers={"Origin": secured.url},
        )
        dashboard = browser.get("/")

    assert logged_in.status_code == 302
    assert dashboard.status_code == 200
    assert "Log out alice" in dashboard.text


def test_tokens_are_stored_hashed(stack: Stack, secured: Secured) -> None:
    stored = [row[0] for row in stack.fetch("SELECT digest FROM tasks_apitoken")]

    assert secured.tokens["alice"] not in stored
    assert all(len(digest) == 64 for digest in stored)


# --- htmx actions answer with the caller's own table --------------------------------

HTMX = {"HX-Request": "true", "Accept": "text/html"}
# Where an htmx action says it was posted from; the fragment it gets back is the
# table of that page. None: no HX-Current-URL at all.
FROM_PAGES = {
    "no-current-url": None,
    "dashboard": "/",
    "filtered": "/?status=PENDING&kind=0",
    "paged-back": "/?before=999999999999",
    "searching-alices-id": "/?q={alices_prefix}",
}


ALICES_TASKS = (
    "SELECT t.task_id FROM tasks_taskrecord t JOIN auth_user u ON t.owner_id = u.id "
    "WHERE u.username = 'alice'"
)


def alices_task_ids(stack: Stack) -> set[str]:
    """Every task id alice owns, as URLs write them."""
    return {str(uuid.UUID(str(task_id))) for (task_id,) in stack.fetch(ALICES_TASKS)}


def finished_task_of(client: httpx.Client) -> str:
    """A task of the client's own that is REVOKED (so it can be retried or deleted)."""
    task_id = client.post("/tasks/", data={"type": "3"}).json()["task_id"]
    assert client.post(f"/tasks/{task_id}/cancel/").status_code == 200
    return str(task_id)


def htmx_action(secured: Secured, bob: httpx.Client, action: str) -> tuple[str, dict[str, str]]:
    """The path and form body of one of bob's actions, set up so that it succeeds."""
    if action == "submit":
        return "/tasks/", {"type": "0"}
    if action == "cancel":
        return f"/tasks/{bob.post('/tasks/', data={'type': '3'}).json()['task_id']}/cancel/", {}
    if action in ("retry", "delete"):
        return f"/tasks/{finished_task_of(bob)}/{action}/", {}
    return "/tasks/clear/", {}


@pytest.mark.parametrize("from_page", list(FROM_PAGES), ids=list(FROM_PAGES))
@pytest.mark.parametrize("action", ["submit", "cancel", "retry", "delete", "clear"])
def test_htmx_actions_answer_with_only_the_users_own_tasks(
    stack: Stack, secured: Secured, action: str, from_page: str
) -> None:
    with secured.as_user("alice") as alice, secured.as_user("bob") as bob:
        alices = alice.post("/tasks/", data={"type": "0"}).json()["task_id"]
        path, body = htmx_action(secured, bob, action)
        headers = dict(HTMX)
        if (page := FROM_PAGES[from_page]) is not None:
            headers["HX-Current-URL"] = secured.url + page.format(alices_prefix=alices[:8])

        response = bob.post(path, data=body, headers=headers)
        for task in bob.get("/tasks/", params={"status": "STARTED"}).json()["tasks"]:
            bob.post(f"/tasks/{task['task_id']}/cancel/")  # retries run long tasks

    assert response.status_code in (200, 201), response.text[:300]
    assert 'id="task-table"' in response.text
    leaked = {task_id for task_id in alices_task_ids(stack) if task_id in response.text}
    assert not leaked, f"bob's {action} fragment shows alice's tasks {leaked}"


def test_a_staff_members_htmx_action_shows_everyones_tasks(secured: Secured) -> None:
    with secured.as_user("alice") as alice, secured.as_user("carol") as carol:
        alices = alice.post("/tasks/", data={"type": "0"}).json()["task_id"]

        response = carol.post("/tasks/", data={"type": "0"}, headers=HTMX)

    assert response.status_code == 201
    assert alices in response.text


def test_an_htmx_action_from_a_page_with_too_many_fields_is_done_and_scoped(
    stack: Stack, secured: Secured
) -> None:
    with secured.as_user("alice") as alice, secured.as_user("bob") as bob:
        alice.post("/tasks/", data={"type": "0"})
        before = len(bob.get("/tasks/").json()["tasks"])
        current = f"{secured.url}/?" + "a&" * 1001 + "status=PENDING"

        response = bob.post(
            "/tasks/", data={"type": "0"}, headers=HTMX | {"HX-Current-URL": current}
        )

        after = bob.get("/tasks/").json()["tasks"]

    assert response.status_code == 201, response.text[:300]
    assert len(after) == min(before + 1, PAGE_SIZE)
    assert after[0]["task_id"] in response.text
    assert not {t for t in alices_task_ids(stack) if t in response.text}


# --- Smaller leaks: the workers panel and the retries of a task ----------------------

PLANT = """
from datetime import datetime, timezone
from django.contrib.auth.models import User
from webapp.tasks.models import Status, TaskRecord, WorkerStatus
alice = User.objects.get(username="alice")
worker = WorkerStatus.online()[0]
long_ago = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
TaskRecord.objects.create(kind=0, owner=alice, submitted_at=long_ago, task_id="{queued}")
TaskRecord.objects.create(
    kind=3, owner=alice, status=Status.STARTED, task_id="{running}",
    worker=worker.hostname, worker_instance=worker.instance,
)
"""


def busy_counts(page: str) -> list[int]:
    """The Busy column of the workers panel."""
    panel = page.split('id="workers"', 1)[1].split("</section>", 1)[0]
    rows = panel.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
    return [int(row.rsplit("<td>", 1)[1].split("</td>", 1)[0]) for row in rows]


@pytest.fixture
def alices_queued_and_running(stack: Stack, secured: Secured) -> Iterator[None]:
    """Two of alice's tasks planted in the database: one queued since 2001 (nothing
    sent to the broker), one STARTED on the live worker's current instance."""
    queued, running = str(uuid.uuid4()), str(uuid.uuid4())
    stack.manage("shell", "-c", PLANT.replace("{queued}", queued).replace("{running}", running))
    yield
    stack.manage(
        "shell",
        "-c",
        "from webapp.tasks.models import TaskRecord; "
        f"TaskRecord.objects.filter(task_id__in=['{queued}', '{running}']).delete()",
    )


@pytest.mark.usefixtures("alices_queued_and_running")
def test_the_workers_panel_counts_only_the_users_own_tasks(secured: Secured) -> None:
    page = {"Accept": "text/html"}
    with secured.as_user("bob") as bob, secured.as_user("carol") as carol:
        for task in bob.get("/tasks/", params={"status": "STARTED"}).json()["tasks"]:
            bob.post(f"/tasks/{task['task_id']}/cancel/")

        bobs = bob.get("/", headers=page).text
        carols = carol.get("/", headers=page).text

    assert "2001-02-03T04:05:06" not in bobs
    assert "2001-02-03T04:05:06" in carols
    assert sum(busy_counts(bobs)) == 0
    assert sum(busy_counts(carols)) >= 1
    assert "Your tasks queued" in bobs
    assert "Your tasks queued" not in carols


def test_a_task_lists_only_the_retries_its_reader_may_see(secured: Secured) -> None:
    with secured.as_user("alice") as alice, secured.as_user("carol") as carol:
        alices = finished_task_of(alice)
        carols_retry = carol.post(f"/tasks/{alices}/retry/").json()["task_id"]
        carol.post(f"/tasks/{carols_retry}/cancel/")

        as_json = alice.get(f"/tasks/{alices}/").json()
        as_page = alice.get(f"/tasks/{alices}/", headers={"Accept": "text/html"}).text
        seen_by_staff = carol.get(f"/tasks/{alices}/").json()

    assert as_json["retries"] == []
    assert carols_retry not in as_page
    assert seen_by_staff["retries"] == [carols_retry]


# --- Whatever bob forges, he sees none of alice's tasks ------------------------------

forged_values = st.sampled_from(
    ["{alice}", "{alice8}", "", "PENDING", "SUCCESS", "0", "1", "3", "json", "1", "999999999"]
) | st.text(max_size=12)
forged_query = st.lists(
    st.tuples(
        st.sampled_from(["status", "kind", "q", "before", "since", "format", "owner", "user"]),
        forged_values,
    ),
    max_size=5,
).map(urlencode)
forged_pages = st.builds(
    lambda base, query: f"{base}?{query}",
    st.sampled_from(["/", "http://127.0.0.1/", "/tasks/"]),
    forged_query,
)
other_headers = st.fixed_dictionaries(
    {},
    optional={
        "HX-Target": st.sampled_from(["task-table", "task-detail", "workers"]),
        "HX-Trigger": st.sampled_from(["filters", "task-table"]),
        "HX-History-Restore-Request": st.sampled_from(["true", "false"]),
        "Accept": st.sampled_from(["*/*", "text/html", "application/json"]),
    },
)


@pytest.fixture(scope="module")
def alices_task(secured: Secured) -> str:
    with secured.as_user("alice") as alice:
        return str(alice.post("/tasks/", data={"type": "0"}).json()["task_id"])


@settings(
    max_examples=60,
    deadline=None,
    database=None,  # no example files in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    request=st.sampled_from([("GET", "/"), ("GET", "/tasks/"), ("POST", "/tasks/clear/")]),
    query=forged_query,
    htmx=st.booleans(),
    current_url=st.none() | forged_pages,
    other=other_headers,
)
def test_no_forged_filter_or_htmx_header_shows_bob_alices_tasks(
    stack: Stack,
    secured: Secured,
    alices_task: str,
    request: tuple[str, str],
    query: str,
    htmx: bool,
    current_url: str | None,
    other: dict[str, str],
) -> None:
    def fill(text: str) -> str:
        return text.replace("%7Balice%7D", alices_task).replace("%7Balice8%7D", alices_task[:8])

    method, path = request
    headers = other | ({"HX-Request": "true"} if htmx else {})
    if current_url is not None:
        headers["HX-Current-URL"] = fill(current_url)
    with secured.as_user("bob") as bob:
        response = bob.request(method, fill(f"{path}?{query}"), headers=headers)

    assert response.status_code < 500, response.text[:300]
    # Bob's own search for alice's id is echoed back in the filter form and links: only
    # a task shown as a task (a row, a link to it, a JSON record) is a leak.
    leaked = {task_id for task_id in alices_task_ids(stack) if shows_task(response.text, task_id)}
    assert not leaked, f"{method} {path}?{query} with {headers} shows alice's tasks {leaked}"


def shows_task(text: str, task_id: str) -> bool:
    return any(
        shown in text
        for shown in (f'id="task-{task_id}"', f"/tasks/{task_id}/", f'"task_id": "{task_id}"')
    )
