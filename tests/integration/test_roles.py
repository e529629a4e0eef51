"""Roles over HTTP, with login on: every endpoint that reads or changes something,
asked by each role (a browser session of a viewer, an operator, a user in no group,
an admin, a staff member) and by a token of each role. A refusal is a 403 naming the
permission that is missing; everything else gets the endpoint's usual answer.

Targets (tasks, schedules) are made fresh for each case by someone who may make them
and whom the actor sees: the actor itself when it may launch, else a plain user."""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conftest import Stack, free_port, start_web, wait_for
from tests.role_table import ROLE_PERMISSIONS

USERS = """
from django.contrib.auth.models import Group, User
for name, group, staff in [
    ("vera", "viewer", False),
    ("opal", "operator", False),
    ("otto", None, False),
    ("ada", "admin", False),
    ("sam", None, True),
]:
    User.objects.filter(username=name).delete()
    user = User.objects.create_user(name, password=f"{name}-secret-pw", is_staff=staff)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
"""

ROLES_WITH = {
    permission: [role for role, given in ROLE_PERMISSIONS.items() if permission in given]
    for permission in ROLE_PERMISSIONS["admin"]
}


@dataclass(frozen=True)
class Actor:
    role: str  # the role it should act with
    user: str
    token_role: str | None = None  # None: a browser session of `user`


ACTORS = {
    "viewer": Actor("viewer", "vera"),
    "operator": Actor("operator", "opal"),
    "user-in-no-group": Actor("operator", "otto"),
    "admin": Actor("admin", "ada"),
    "staff": Actor("admin", "sam"),
    "viewer-token": Actor("viewer", "ada", token_role="viewer"),
    "operator-token": Actor("operator", "ada", token_role="operator"),
    "admin-token": Actor("admin", "ada", token_role="admin"),
    # Never more than its user's own rights: otto is an operator.
    "admin-token-of-an-operator": Actor("operator", "otto", token_role="admin"),
}


@dataclass
class Secured:
    url: str
    stack: Stack
    clients: dict[str, httpx.Client] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)

    def client(self, actor: str) -> httpx.Client:
        if actor not in self.clients:
            spec = ACTORS[actor]
            if spec.token_role is None:
                self.clients[actor] = log_in(self.url, spec.user)
            else:
                token = self.stack.manage("create_token", spec.user, "--role", spec.token_role)
                headers = {"Authorization": f"Bearer {token.strip()}", "Accept": "*/*"}
                self.clients[actor] = httpx.Client(base_url=self.url, headers=headers, timeout=15)
        return self.clients[actor]

    def launcher(self, actor: str) -> httpx.Client:
        """Who makes this actor's targets: itself if it may, else a plain user."""
        if "tasks.launch_task" in ROLE_PERMISSIONS[ACTORS[actor].role]:
            return self.client(actor)
        return self.client("user-in-no-group")


def log_in(url: str, name: str) -> httpx.Client:
    """A browser session: logged in through the form, then posting with the CSRF
    token in a header and its own Origin, as htmx does."""
    client = httpx.Client(base_url=url, timeout=15, headers={"Accept": "*/*"})
    form = client.get("/accounts/login/", headers={"Accept": "text/html"}).text
    csrf = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    logged_in = client.post(
        "/accounts/login/",
        data={"username": name, "password": f"{name}-secret-pw", "csrfmiddlewaretoken": csrf},
        headers={"Origin": url, "Accept": "text/html"},
    )
    assert logged_in.status_code == 302, logged_in.text[:300]
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    client.headers["Origin"] = url
    return client


@pytest.fixture(scope="module")
def secured(stack: Stack) -> Iterator[Secured]:
    stack.manage("shell", "-c", USERS)
    port = free_port()
    web = start_web(stack, port, env=stack.env | {"DASHBOARD_REQUIRE_LOGIN": "true"})
    secured = Secured(f"http://127.0.0.1:{port}", stack)
    try:
        yield secured
    finally:
        # The stack is shared: no queue stays paused, no schedule stays behind, and no
        # task waits an hour (the table would poll as busy for the next module).
        stack.manage(
            "shell",
            "-c",
            "from webapp.tasks.models import QueueState, Schedule, Status, TaskRecord; "
            "from webapp.tasks.running import schedules; "
            "QueueState.objects.update(paused=False); "
            "[schedules.delete_schedule(s) for s in Schedule.objects.all()]; "
            "waiting = TaskRecord.objects.filter(status=Status.SCHEDULED); "
            "TaskRecord.mark_cancelled_many("
            "[str(t) for t in waiting.values_list('task_id', flat=True)], note='test over')",
        )
        for client in secured.clients.values():
            client.close()
        web.stop()


# --- Targets -------------------------------------------------------------------------

AN_HOUR = {"countdown": "3600"}


def scheduled_task(secured: Secured, actor: str) -> str:
    """A task of the launcher's that waits an hour: it can be cancelled or run now."""
    response = secured.launcher(actor).post("/tasks/", data={"type": "0"} | AN_HOUR)
    assert response.status_code == 202, response.text[:300]
    return str(response.json()["task_id"])


def finished_task(secured: Secured, actor: str) -> str:
    """A cancelled task of the launcher's: it can be retried or deleted."""
    task_id = scheduled_task(secured, actor)
    cancelled = secured.launcher(actor).post(f"/tasks/{task_id}/cancel/")
    assert cancelled.status_code == 200, cancelled.text[:300]
    return task_id


def finished_export(secured: Secured, actor: str) -> str:
    """A finished CSV export of the launcher's (one each), to download."""
    launcher = ACTORS[actor].user if secured.launcher(actor) is secured.client(actor) else "otto"
    key = f"{launcher}:{ACTORS[actor].token_role}"
    if key not in secured.exports:
        client = secured.launcher(actor)
        task_id = client.post("/tasks/", data={"type": "8"}).json()["task_id"]

        def done() -> bool:
            return bool(client.get(f"/tasks/{task_id}/").json()["task_status"] == "SUCCESS")

        wait_for(done, 60, f"export {task_id} to finish")
        secured.exports[key] = task_id
    return secured.exports[key]


def schedule(secured: Secured, actor: str) -> str:
    """A disabled hourly schedule of the launcher's."""
    response = secured.launcher(actor).post(
        "/schedules/", json={"type": "instant", "every": 1, "period": "hours", "enabled": False}
    )
    assert response.status_code == 201, response.text[:300]
    return str(response.json()["id"])


Target = Callable[[Secured, str], str]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {id}: the target's
    permission: str | None  # None: every role may
    allowed: tuple[int, ...]  # the answers when it may
    target: Target | None = None
    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None


ENDPOINTS = {
    "dashboard": Endpoint("GET", "/", None, (200,)),
    "list tasks": Endpoint("GET", "/tasks/", None, (200,)),
    "launch": Endpoint("POST", "/tasks/", "tasks.launch_task", (202,), data={"type": "0"}),
    "launch from the catalogue": Endpoint(
        "POST",
        "/tasks/",
        "tasks.launch_task",
        (202,),
        json={"type": "instant", "params": {}, "countdown": 3600},
    ),
    "read a task": Endpoint("GET", "/tasks/{id}/", None, (200,), scheduled_task),
    "cancel": Endpoint("POST", "/tasks/{id}/cancel/", "tasks.steer_task", (200,), scheduled_task),
    "run now": Endpoint("POST", "/tasks/{id}/run-now/", "tasks.steer_task", (200,), scheduled_task),
    "retry": Endpoint("POST", "/tasks/{id}/retry/", "tasks.steer_task", (202,), finished_task),
    "delete": Endpoint("POST", "/tasks/{id}/delete/", "tasks.steer_task", (200,), finished_task),
    "download": Endpoint("GET", "/tasks/{id}/download/", None, (200,), finished_export),
    # Only what finished before 2001: the clearing is allowed, and the shared stack
    # keeps its history.
    "clear finished": Endpoint(
        "POST",
        "/tasks/clear/",
        "tasks.steer_task",
        (200,),
        json={"as_of": "2001-01-01T00:00:00+00:00", "deleted": 0},
    ),
    # A bulk action over a filter nothing matches: allowed means accepted (202).
    "bulk cancel": Endpoint(
        "POST",
        "/tasks/bulk/",
        "tasks.bulk_act",
        (202,),
        json={"action": "cancel", "filter": {"q": "ffffffff-ffff"}},
    ),
    "metrics overview": Endpoint("GET", "/metrics/overview/", "tasks.view_all_tasks", (200,)),
    "metrics of a kind": Endpoint("GET", "/metrics/kinds/short/", "tasks.view_all_tasks", (200,)),
    "catalogue": Endpoint("GET", "/catalogue/", None, (200,)),
    "catalogue entry": Endpoint("GET", "/catalogue/export/", None, (200,)),
    "list queues": Endpoint("GET", "/queues/", None, (200,)),
    "pause a queue": Endpoint("POST", "/queues/cpu/pause/", "tasks.steer_queue", (200,)),
    "resume a queue": Endpoint("POST", "/queues/cpu/resume/", "tasks.steer_queue", (200,)),
    "list schedules": Endpoint("GET", "/schedules/", None, (200,)),
    "add a schedule": Endpoint(
        "POST",
        "/schedules/",
        "tasks.manage_schedules",
        (201,),
        json={"type": "instant", "every": 1, "period": "hours", "enabled": False},
    ),
    "read a schedule": Endpoint("GET", "/schedules/{id}/", None, (200,), schedule),
    "edit a schedule": Endpoint(
        "POST",
        "/schedules/{id}/",
        "tasks.manage_schedules",
        (200,),
        schedule,
        json={"every": 2, "period": "hours"},
    ),
    "enable a schedule": Endpoint(
        "POST", "/schedules/{id}/enable/", "tasks.manage_schedules", (200,), schedule
    ),
    "disable a schedule": Endpoint(
        "POST", "/schedules/{id}/disable/", "tasks.manage_schedules", (200,), schedule
    ),
    "run a schedule now": Endpoint(
        "POST", "/schedules/{id}/run/", "tasks.manage_schedules", (202,), schedule
    ),
    "delete a schedule": Endpoint(
        "POST", "/schedules/{id}/delete/", "tasks.manage_schedules", (200,), schedule
    ),
    "DELETE a schedule": Endpoint(
        "DELETE", "/schedules/{id}/", "tasks.manage_schedules", (200,), schedule
    ),
}

# Endpoint by endpoint (pause before resume), each asked by every actor.
CASES = list(itertools.product(ENDPOINTS, ACTORS))


@pytest.mark.parametrize(("endpoint", "actor"), CASES, ids=[f"{e}-{a}" for e, a in CASES])
def test_each_role_may_do_what_its_permissions_say(
    secured: Secured, endpoint: str, actor: str
) -> None:
    spec = ENDPOINTS[endpoint]
    path = spec.path.format(id=spec.target(secured, actor)) if spec.target else spec.path
    may = spec.permission is None or spec.permission in ROLE_PERMISSIONS[ACTORS[actor].role]

    response = secured.client(actor).request(spec.method, path, json=spec.json, data=spec.data)

    if may:
        assert response.status_code in spec.allowed, response.text[:300]
    else:
        roles = " or ".join(ROLES_WITH[str(spec.permission)])
        assert response.status_code == 403, response.text[:300]
        assert response.json()["error"].startswith(
            f"Forbidden: needs permission {spec.permission} (role {roles})"
        )


# --- The refusal in each form, and buttons only for what the role may do ----------------


def test_a_refusal_is_a_fragment_for_htmx_and_a_page_for_a_browser(secured: Secured) -> None:
    viewer = secured.client("viewer")
    needs = "needs permission tasks.launch_task (role operator or admin)"

    fragment = viewer.post("/tasks/", data={"type": "0"}, headers={"HX-Request": "true"})
    page = viewer.post("/tasks/", data={"type": "0"}, headers={"Accept": "text/html"})

    assert fragment.status_code == 403
    assert needs in fragment.text
    assert "<html" not in fragment.text
    assert page.status_code == 403
    assert needs in page.text
    assert "<html" in page.text


def test_a_viewer_sees_no_button_it_could_not_use(secured: Secured) -> None:
    task_id = scheduled_task(secured, "user-in-no-group")
    page = {"Accept": "text/html"}

    viewers = secured.client("viewer").get("/", headers=page).text
    viewers_task = secured.client("viewer").get(f"/tasks/{task_id}/", headers=page).text
    operators = secured.client("user-in-no-group").get("/", headers=page).text
    admins = secured.client("admin").get("/", headers=page).text

    assert task_id in viewers  # it sees everyone's tasks
    for shown in (viewers, viewers_task):
        assert f"/tasks/{task_id}/cancel/" not in shown
        assert f"/tasks/{task_id}/run-now/" not in shown
        assert 'name="type"' not in shown  # no launch button
        assert "/tasks/clear/" not in shown
        assert "/queues/cpu/pause/" not in shown
    assert f"/tasks/{task_id}/cancel/" in operators
    assert 'name="type"' in operators
    assert "/queues/cpu/pause/" not in operators
    assert "/queues/cpu/pause/" in admins
