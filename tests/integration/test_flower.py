"""Flower as scripts/flower runs it: a login from its environment (never on its
command line), none of the dashboard's secrets, and it still lists the tasks."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import BIN, Service, Stack, free_port, wait_for
from tests.integration.conftest import submit

AUTH = ("ops", "flower-test-pw")


@dataclass
class Flower:
    url: str
    service: Service


@pytest.fixture(scope="module")
def flower(stack: Stack) -> Iterator[Flower]:
    port = free_port()
    env = stack.env | {
        "CELERY": str(BIN / "celery"),
        "FLOWER_PORT": str(port),
        "FLOWER_BASIC_AUTH": ":".join(AUTH),
        "SECRET_KEY": "dashboard-secret-flower-must-not-see",
    }
    service = stack.start("flower", str(Path("scripts") / "flower"), env=env)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/healthcheck").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(answers, 60, "Flower to answer /healthcheck")
    yield Flower(url, service)
    service.stop()


def test_flower_asks_for_the_login_it_read_from_its_environment(flower: Flower) -> None:
    assert httpx.get(f"{flower.url}/").status_code == 401
    assert httpx.get(f"{flower.url}/", auth=AUTH).status_code == 200


def test_flowers_command_line_and_environment_hold_no_secret_of_the_dashboard(
    flower: Flower,
) -> None:
    proc = Path("/proc") / str(flower.service.process.pid)

    command_line = (proc / "cmdline").read_bytes()
    environment = (proc / "environ").read_bytes()

    assert b"flower" in command_line
    assert AUTH[1].encode() not in command_line
    assert b"SECRET_KEY" not in environment
    assert b"DATABASE_URL" not in environment


def test_flower_lists_a_task_without_the_django_app(flower: Flower, client: httpx.Client) -> None:
    task_id = submit(client, 0)["task_id"]

    def listed() -> bool:
        response = httpx.get(f"{flower.url}/api/tasks", auth=AUTH)
        return response.status_code == 200 and task_id in response.json()

    wait_for(listed, 30, f"Flower to list task {task_id}", 0.5)
