"""compose.yaml boots a working stack: health, a task end to end, Flower behind a
login, scaled workers, history that survives a restart of web, and doors that stay
shut (no anonymous access, Redis behind its password)."""

import subprocess

import httpx

from boot.conftest import ComposeStack, curl, podman
from conftest import wait_for


def launch_and_finish(stack: ComposeStack, kind: int = 0) -> str:
    """The seed's two curl calls: launch a task (instant by default), then see it succeed."""
    launched = curl(stack.token, "-F", f"type={kind}", f"{stack.web_url}/tasks/")
    task_id = str(launched["task_id"])

    def succeeded() -> dict[str, object] | None:
        task = curl(stack.token, f"{stack.web_url}/tasks/{task_id}/")
        return task if task["task_status"] == "SUCCESS" else None

    wait_for(succeeded, 60, f"task {task_id} to reach SUCCESS", 0.5)
    return task_id


def test_every_service_becomes_healthy(compose_stack: ComposeStack) -> None:
    for service in ("db", "redis", "web", "worker", "worker-cpu", "flower"):
        assert compose_stack.wait_until_healthy(service)

    assert httpx.get(f"{compose_stack.web_url}/healthz").json() == {"status": "ok"}


def test_web_runs_as_a_non_root_user(compose_stack: ComposeStack) -> None:
    (web,) = compose_stack.wait_until_healthy("web")

    uid = podman("exec", web, "id", "-u").strip()

    assert uid not in ("", "0")


def test_a_task_launched_with_curl_reaches_success(
    compose_stack: ComposeStack,
) -> None:
    compose_stack.wait_until_healthy("worker")

    task_id = launch_and_finish(compose_stack)

    listed = curl(compose_stack.token, f"{compose_stack.web_url}/tasks/")["tasks"]
    assert task_id in {t["task_id"] for t in listed}  # type: ignore[attr-defined]


def test_flower_asks_for_a_login_and_lists_the_task(
    compose_stack: ComposeStack,
) -> None:
    compose_stack.wait_until_healthy("flower")
    task_id = launch_and_finish(compose_stack)
    url = f"{compose_stack.flower_url}/api/tasks"

    anonymous = httpx.get(url)

    assert anonymous.status_code == 401

    def listed() -> bool:
        response = httpx.get(url, auth=compose_stack.flower_auth)
        return response.status_code == 200 and task_id in response.json()

    wait_for(listed, 30, f"Flower to list task {task_id}", 0.5)


def test_workers_scale_to_two_and_both_serve(compose_stack: ComposeStack) -> None:
    compose_stack.compose("up", "--detach", "--scale", "worker=2")

    workers = compose_stack.wait_until_healthy("worker")

    assert len(workers) == 2
    # Each worker's health check pings that worker by name, so both answer; and
    # tasks still run.
    launch_and_finish(compose_stack)


def test_the_cpu_workers_scale_to_two_and_run_cpu_heavy_tasks(
    compose_stack: ComposeStack,
) -> None:
    compose_stack.compose("up", "--detach", "--scale", "worker-cpu=2")

    workers = compose_stack.wait_until_healthy("worker-cpu")

    assert len(workers) == 2
    launch_and_finish(compose_stack, kind=4)


def test_history_survives_a_restart_of_web(compose_stack: ComposeStack) -> None:
    compose_stack.wait_until_healthy("worker")
    task_id = launch_and_finish(compose_stack)
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
