"""The compose stack, booted once for the boot tests and torn down after them.

compose.yaml is the single source of truth: podman-compose brings it up under a
project name of its own with throwaway secrets, and `down --volumes` removes every
container, network and volume it made. The image and the base images must exist
(`make compose-test` builds them first). Health checks are run with
`podman healthcheck run`, which executes the checks compose.yaml declares: podman
schedules them with systemd timers, and there is no systemd here.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from boot.ports import port_is_free
from conftest import ROOT, wait_for

PROJECT = "task-dashboard-boot-test"
SERVICES = ("db", "redis", "web", "worker", "worker-cpu", "beat", "flower")
COMPOSE = [str(Path(sys.executable).parent / "podman-compose")]
LOGS = ROOT / "var" / "compose-test.log"


@dataclass
class ComposeStack:
    env: dict[str, str]
    env_file: Path
    web_url: str
    flower_url: str
    flower_auth: tuple[str, str]
    token: str = ""

    def make_token(self) -> str:
        """A user and a bearer token for curl: web refuses anonymous requests."""
        (web,) = self.wait_until_healthy("web")
        podman(
            "exec", web, "python", "manage.py", "shell", "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('boot')",
        )  # fmt: skip
        return podman("exec", web, "python", "manage.py", "create_token", "boot").strip()

    def compose(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(
            [*COMPOSE, "--project-name", PROJECT, "--env-file", str(self.env_file),
             "--file", str(ROOT / "compose.yaml"), *args],
            env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(
                f"podman-compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def containers(self, service: str) -> list[str]:
        names = podman(
            "ps", "--format", "{{.Names}}",
            "--filter", f"label=io.podman.compose.project={PROJECT}",
            "--filter", f"label=com.docker.compose.service={service}",
        )  # fmt: skip
        return sorted(names.split())

    def wait_until_healthy(self, service: str, timeout: float = 180) -> list[str]:
        """Run each container's compose-declared health check until it passes."""

        def healthy() -> list[str] | None:
            names = self.containers(service)
            if not names:
                return None
            for name in names:
                try:
                    check = subprocess.run(
                        ["podman", "healthcheck", "run", name],
                        env=self.env, capture_output=True, check=False, timeout=60,
                    )  # fmt: skip
                except subprocess.TimeoutExpired:
                    return None
                if check.returncode != 0:
                    return None
            return names

        return list(wait_for(healthy, timeout, f"{service} to be healthy", 1.0))

    def logs(self) -> str:
        out = []
        for service in SERVICES:
            for name in self.containers(service):
                log = subprocess.run(
                    ["podman", "logs", "--tail", "200", name],
                    env=self.env, capture_output=True, text=True, check=False,
                )  # fmt: skip
                out.append(f"--- {name}\n{log.stdout}{log.stderr}")
        return "\n".join(out)


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True).stdout


def leftovers() -> str:
    label = f"label=io.podman.compose.project={PROJECT}"
    containers = podman("ps", "--all", "--format", "{{.Names}}", "--filter", label)
    volumes = podman("volume", "ls", "--format", "{{.Name}}", "--filter", label)
    return (containers + volumes).strip()


def remove_leftovers() -> None:
    """podman-compose down knows only the replicas compose.yaml declares, not
    those `--scale` added; remove whatever of this project is left."""
    label = f"label=io.podman.compose.project={PROJECT}"
    for name in podman("ps", "--all", "--format", "{{.Names}}", "--filter", label).split():
        subprocess.run(["podman", "rm", "--force", "--depend", "--time", "10", name], check=False)
    for name in podman("volume", "ls", "--format", "{{.Name}}", "--filter", label).split():
        subprocess.run(["podman", "volume", "rm", "--force", name], check=False)
    subprocess.run(
        ["podman", "network", "rm", "--force", f"{PROJECT}_default"],
        capture_output=True, check=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def compose_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    if not shutil.which("podman"):
        pytest.fail("podman is not installed: run `make compose-test`")
    web_port = int(os.environ.get("COMPOSE_TEST_WEB_PORT", "1337"))
    flower_port = int(os.environ.get("COMPOSE_TEST_FLOWER_PORT", "5555"))
    for port in (web_port, flower_port):
        if not port_is_free(port):
            pytest.fail(
                f"port {port} on 127.0.0.1 is taken (another `make run`?); the boot "
                "test publishes the stack there. Stop whatever listens there, or "
                "pick other ports with COMPOSE_TEST_WEB_PORT / "
                "COMPOSE_TEST_FLOWER_PORT."
            )
    if leftovers():
        pytest.fail(
            f"containers or volumes of project {PROJECT} exist from an earlier run: "
            f"{leftovers()!r}; remove them with `podman-compose -p {PROJECT} down -v`"
        )
    # An empty env file, so a developer's .env does not leak into the test.
    env_file = tmp_path_factory.mktemp("compose") / "empty.env"
    env_file.write_text("")
    flower_auth = ("boot", secrets.token_urlsafe(16))
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "REDIS_PASSWORD": secrets.token_urlsafe(24),
        "FLOWER_BASIC_AUTH": ":".join(flower_auth),
        "SECURE_SSL_REDIRECT": "false",
        "TASK_TIME_SCALE": "0.1",
        "PUBLISH_ADDRESS": "127.0.0.1",
        "WEB_PORT": str(web_port),
        "FLOWER_PORT": str(flower_port),
        "GUNICORN_WORKERS": "2",
    }
    stack = ComposeStack(
        env=env,
        env_file=env_file,
        web_url=f"http://127.0.0.1:{web_port}",
        flower_url=f"http://127.0.0.1:{flower_port}",
        flower_auth=flower_auth,
    )
    try:
        stack.compose("up", "--detach")
        stack.token = stack.make_token()
        yield stack
    finally:
        LOGS.parent.mkdir(exist_ok=True)
        LOGS.write_text(stack.logs())
        print(f"container logs: {LOGS}")
        try:
            stack.compose("down", "--volumes", "--timeout", "10")
        finally:
            remove_leftovers()
        assert not leftovers(), f"left behind after down: {leftovers()}"


def curl(token: str, *args: str) -> dict[str, object]:
    """Run curl like the seed does, with a bearer token, returning the JSON it prints."""
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "15",
         "--header", f"Authorization: Bearer {token}", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(result.stdout))
