"""compose.yaml boots a working stack: health, the page, tasks end to end on each
queue's workers (scaled), beat running a schedule made over HTTP, the scheduler
publishing a task launched for later, Flower behind a login, history that survives a
restart of web, doors that stay shut (no anonymous access, Redis behind its
password), and `down` stopping it all cleanly. The tests run in this order, the
last one taking the stack down."""

import subprocess

import httpx
import pytest

from boot.conftest import ComposeStack, curl, podman
from conftest import wait_for


def launch_and_finish(stack: ComposeStack, kind: str = "0", *fields: str) -> dict[str, object]:
    """The seed's two curl calls: launch a task (instant by default), then see it
    succeed; returns the finished task's JSON."""
    form = [arg for field in fields for arg in ("-F", field)]
    launched = curl(stack.token, "-F", f"type={kind}", *form, f"{stack.web_url}/tasks/")
    task_id = str(launched["task_id"])

    def succeeded() -> dict[str, object] | None:
        task = curl(stack.token, f"{stack.web_url}/tasks/{task_id}/")
        return task if task["task_status"] == "SUCCESS" else None

    return dict(wait_for(succeeded, 60, f"task {task_id} to reach SUCCESS", 0.5))


def worker_names(stack: ComposeStack, service: str) -> set[str]:
    """The Celery names of a service's workers: `service@` and the container's host
    name, as the workers panel lists them."""
    return {
        f"{service}@{podman('exec', name, 'cat', '/etc/hostname').strip()}"
        for name in stack.containers(service)
    }


def consumers_of(stack: ComposeStack, queue: str) -> int:
    listed = curl(stack.token, f"{stack.web_url}/queues/")["queues"]
    (found,) = [q for q in listed if q["name"] == queue]  # type: ignore[attr-defined]
    return int(found["consumers"])


def test_every_service_becomes_healthy(compose_stack: ComposeStack) -> None:
    for service in ("db", "redis", "web", "worker", "worker-cpu", "flower"):
        assert compose_stack.wait_until_healthy(service)

    assert httpx.get(f"{compose_stack.web_url}/healthz").json() == {"status": "ok"}


def test_beat_and_the_scheduler_run_without_restarting(compose_stack: ComposeStack) -> None:
    # Neither has a health check (nothing to ask them); the tests of beat's schedule
    # and of a countdown below show them working.
    compose_stack.wait_until_healthy("web")  # migrated: both can now read their tables
    for service in ("beat", "scheduler"):
        (name,) = compose_stack.containers(service)
        state = podman("inspect", "--format", "{{.State.Status}} {{.RestartCount}}", name)
        assert state.split() == ["running", "0"], f"{service}: {state}"


def test_web_runs_as_a_non_root_user(compose_stack: ComposeStack) -> None:
    (web,) = compose_stack.wait_until_healthy("web")

    uid = podman("exec", web, "id", "-u").strip()

    assert uid not in ("", "0")


def test_the_dashboard_page_answers(compose_stack: ComposeStack) -> None:
    compose_stack.wait_until_healthy("web")

    page = httpx.get(
        f"{compose_stack.web_url}/",
        headers={"Authorization": f"Bearer {compose_stack.token}", "Accept": "text/html"},
    )
    login = httpx.get(f"{compose_stack.web_url}/accounts/login/")

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'id="workers"' in page.text
    # Static files come from the image (collected at build, served by whitenoise).
    stylesheet = page.text.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    assert httpx.get(f"{compose_stack.web_url}{stylesheet}").status_code == 200
    assert login.status_code == 200


def test_a_task_launched_with_curl_reaches_success(
    compose_stack: ComposeStack,
) -> None:
    compose_stack.wait_until_healthy("worker")

    task = launch_and_finish(compose_stack)

    listed = curl(compose_stack.token, f"{compose_stack.web_url}/tasks/")["tasks"]
    assert task["task_id"] in {t["task_id"] for t in listed}  # type: ignore[attr-defined]


def test_a_short_task_runs_on_the_default_queue_s_worker(compose_stack: ComposeStack) -> None:
    compose_stack.wait_until_healthy("worker")

    task = launch_and_finish(compose_stack, "short", "seconds=2")

    assert task["queue"] == "default"
    assert task["worker"] in worker_names(compose_stack, "worker")


def test_a_task_launched_with_a_countdown_waits_then_the_scheduler_publishes_it(
    compose_stack: ComposeStack,
) -> None:
    compose_stack.wait_until_healthy("worker")
    url = f"{compose_stack.web_url}/tasks/"

    launched = curl(compose_stack.token, "-F", "type=instant", "-F", "countdown=2", url)

    assert launched["task_status"] == "SCHEDULED"
    task_id = str(launched["task_id"])

    def succeeded() -> dict[str, object] | None:
        task = curl(compose_stack.token, f"{url}{task_id}/")
        return task if task["task_status"] == "SUCCESS" else None

    task = wait_for(succeeded, 60, f"scheduled task {task_id} to reach SUCCESS", 0.5)
    assert str(task["started_at"]) >= str(launched["run_at"])  # both UTC ISO 8601


def test_beat_runs_a_periodic_schedule_made_over_http(compose_stack: ComposeStack) -> None:
    compose_stack.wait_until_healthy("worker")
    client = httpx.Client(
        base_url=compose_stack.web_url,
        headers={"Authorization": f"Bearer {compose_stack.token}"},
        timeout=15,
    )
    added = client.post("/schedules/", json={"type": "instant", "every": 2, "period": "seconds"})
    assert added.status_code == 201, added.text
    schedule_url = added.json()["url"]
    try:

        def a_run_succeeded() -> str | None:
            runs = client.get(schedule_url).json()["runs"]
            done = [run for run in runs if run["task_status"] == "SUCCESS"]
            return str(done[0]["task_id"]) if done else None

        task_id = wait_for(a_run_succeeded, 90, "beat to run the schedule", 1.0)
        task = client.get(f"/tasks/{task_id}/").json()
        assert task["schedule"] == schedule_url
        assert task["worker"] in worker_names(compose_stack, "worker")
    finally:
        assert client.post(f"{schedule_url}delete/").status_code < 400
        client.close()


def test_a_csv_export_written_by_a_worker_downloads_from_web(compose_stack: ComposeStack) -> None:
    # The exports volume: the worker container writes the file, web serves it.
    compose_stack.wait_until_healthy("worker")
    listed = launch_and_finish(compose_stack)

    export = launch_and_finish(compose_stack, "export")
    download = httpx.get(
        f"{compose_stack.web_url}{export['url']}download/",
        headers={"Authorization": f"Bearer {compose_stack.token}"},
    )

    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"].startswith("text/csv")
    assert str(listed["task_id"]) in download.text


def test_flower_asks_for_a_login_and_lists_the_task(
    compose_stack: ComposeStack,
) -> None:
    compose_stack.wait_until_healthy("flower")
    task_id = launch_and_finish(compose_stack)["task_id"]
    url = f"{compose_stack.flower_url}/api/tasks"

    anonymous = httpx.get(url)

    assert anonymous.status_code == 401

    def listed() -> bool:
        response = httpx.get(url, auth=compose_stack.flower_auth)
        return response.status_code == 200 and task_id in response.json()

    wait_for(listed, 30, f"Flower to list task {task_id}", 0.5)


def test_workers_scale_to_two_and_both_serve(compose_stack: ComposeStack) -> None:
    compose_stack.scale("worker", 2)

    workers = compose_stack.wait_until_healthy("worker")

    assert len(workers) == 2
    # Each worker's health check pings that worker by name, so both answer; and
    # tasks still run.
    launch_and_finish(compose_stack)


def test_the_cpu_workers_scale_to_two_and_run_cpu_heavy_tasks(
    compose_stack: ComposeStack,
) -> None:
    compose_stack.scale("worker-cpu", 2)

    assert len(compose_stack.wait_until_healthy("worker-cpu")) == 2

    # Both are listed: in the cpu queue's consumers (JSON) and the workers panel.
    names = worker_names(compose_stack, "worker-cpu")
    wait_for(lambda: consumers_of(compose_stack, "cpu") == 2, 30, "two consumers of cpu", 1.0)
    page = httpx.get(
        f"{compose_stack.web_url}/",
        headers={"Authorization": f"Bearer {compose_stack.token}", "Accept": "text/html"},
    ).text
    panel = page.split('id="workers"', 1)[1].split("</section>", 1)[0]
    assert all(f"<code>{name}</code>" in panel for name in names), (names, panel)
    task = launch_and_finish(compose_stack, "cpu-heavy")
    assert task["queue"] == "cpu"
    assert task["worker"] in names


def test_history_survives_a_restart_of_web(compose_stack: ComposeStack) -> None:
    compose_stack.wait_until_healthy("worker")
    task_id = launch_and_finish(compose_stack)["task_id"]
    (web,) = compose_stack.containers("web")
    started = podman("inspect", "--format", "{{.State.StartedAt}}", web)

    compose_stack.compose("restart", "web")
    compose_stack.wait_until_healthy("web")

    assert podman("inspect", "--format", "{{.State.StartedAt}}", web) != started
    task = curl(compose_stack.token, f"{compose_stack.web_url}/tasks/{task_id}/")
    assert task["task_status"] == "SUCCESS"


def test_web_refuses_anonymous_requests(compose_stack: ComposeStack) -> None:
    compose_stack.wait_until_healthy("web")

    response = httpx.post(f"{compose_stack.web_url}/tasks/", data={"type": "0"})

    assert response.status_code == 401


def test_redis_refuses_a_client_without_its_password(compose_stack: ComposeStack) -> None:
    (redis,) = compose_stack.wait_until_healthy("redis")

    anonymous = subprocess.run(
        ["podman", "exec", redis, "redis-cli", "ping"], capture_output=True, text=True
    )
    processes = podman("top", redis, "args")

    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    assert compose_stack.env["REDIS_PASSWORD"] not in processes


def test_down_stops_the_stack_and_leaves_nothing(compose_stack: ComposeStack) -> None:
    ids = compose_stack.container_ids()
    assert len(ids) == 10  # db, redis, web, 2 workers, 2 cpu workers, beat, scheduler, flower

    compose_stack.down_output = compose_stack.down()

    # podman stop says so when a container outlived its stop timeout and was killed:
    # none but a worker (see the next test) may be.
    killed = [
        line for line in compose_stack.down_output.splitlines() if "resorting to SIGKILL" in line
    ]
    assert all("_worker" in line for line in killed), killed
    assert compose_stack.leftovers() == ""
    monitors = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert not [line for line in monitors.splitlines() if any(i in line for i in ids)]


@pytest.mark.xfail(
    reason="intermittent: while podman-compose stops Redis, PostgreSQL and the workers at "
    "once, a worker's shutdown (pool join, lookups of the services just gone) can outlast "
    "the 20 s timeout; stacks in var/compose-test.log (README, 'Stopping')",
    strict=False,
)
def test_every_worker_stopped_on_sigterm_before_the_timeout(compose_stack: ComposeStack) -> None:
    assert compose_stack.is_down
    assert "SIGKILL" not in compose_stack.down_output
    assert not compose_stack.hung, f"about to be killed: {compose_stack.hung} (stacks in the log)"
