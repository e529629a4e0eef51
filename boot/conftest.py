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
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from boot.ports import port_is_free
from conftest import ROOT, wait_for

PROJECT = "task-dashboard-boot-test"
PROJECT_LABEL = f"label=io.podman.compose.project={PROJECT}"
# compose.yaml's replica counts, which podman-compose's `down` must be told.
REPLICAS = {"worker": "WORKER_REPLICAS", "worker-cpu": "CPU_WORKER_REPLICAS"}
# How long `down` lets each container stop on SIGTERM before podman kills it.
STOP_SECONDS = 20
SERVICES = ("db", "redis", "web", "worker", "worker-cpu", "beat", "scheduler", "flower")
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
    is_down: bool = False
    # The replicas `scale` asked for, by service, for `down` to know them all.
    replicas: dict[str, int] = field(default_factory=dict)
    # What `down` printed; workers still running 3 s before its stop timeout.
    down_output: str = ""
    hung: list[str] = field(default_factory=list)

    def make_token(self) -> str:
        """A user and a bearer token for curl: web refuses anonymous requests."""
        (web,) = self.wait_until_healthy("web")
        podman(
            "exec", web, "python", "manage.py", "shell", "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('boot')",
        )  # fmt: skip
        return podman("exec", web, "python", "manage.py", "create_token", "boot").strip()

    def scale(self, service: str, replicas: int) -> None:
        self.compose("up", "--detach", "--scale", f"{service}={replicas}")
        self.replicas[service] = replicas

    def down(self) -> str:
        """`down` as README says to run it after a `--scale`: with the same counts in
        compose.yaml's replica variables, which podman-compose (1.6) needs to stop and
        remove the extra replicas (before the services they depend on). The
        containers' logs, their shutdown included, go to var/compose-test.log.
        Returns what `down` printed."""
        names = [name for service in SERVICES for name in self.containers(service)]
        followers = [
            subprocess.Popen(
                ["podman", "logs", "--follow", "--since", "1s", name],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for name in names
        ]
        before = self.logs()
        self.is_down = True
        env = {REPLICAS[service]: str(count) for service, count in self.replicas.items()}
        # A worker still there just before podman would kill it writes where it hangs
        # into its log and ends (SIGABRT: PYTHONFAULTHANDLER's dump of every thread,
        # which works even while Python code cannot run); the test fails on it.
        workers = [name for name in names if "_worker" in name]
        dump = threading.Timer(STOP_SECONDS - 3, self.dump_stacks, args=(workers,))
        dump.start()
        try:
            return self.compose(
                "down", "--volumes", "--timeout", str(STOP_SECONDS), stderr=True, env=env
            )
        finally:
            dump.cancel()
            stops = []
            for name, follower in zip(names, followers, strict=True):
                try:
                    out, _ = follower.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    follower.kill()
                    out, _ = follower.communicate()
                stops.append(f"--- {name} (stopping)\n{out}")
            LOGS.parent.mkdir(exist_ok=True)
            LOGS.write_text(before + "\n" + "\n".join(stops))
            print(f"container logs: {LOGS}")

    def dump_stacks(self, names: list[str]) -> None:
        for name in names:
            killed = subprocess.run(
                ["podman", "kill", "--signal", "ABRT", name], capture_output=True, check=False
            )
            if killed.returncode == 0:
                self.hung.append(name)

    def container_ids(self) -> list[str]:
        return podman("ps", "--all", "--quiet", "--no-trunc", "--filter", PROJECT_LABEL).split()

    def leftovers(self) -> str:
        """Containers, volumes and the network of this project that exist."""
        containers = podman("ps", "--all", "--format", "{{.Names}}", "--filter", PROJECT_LABEL)
        volumes = podman("volume", "ls", "--format", "{{.Name}}", "--filter", PROJECT_LABEL)
        networks = podman("network", "ls", "--format", "{{.Name}}", "--filter", f"name={PROJECT}")
        return (containers + volumes + networks).strip()

    def compose(
        self,
        *args: str,
        timeout: float = 600,
        stderr: bool = False,
        env: dict[str, str] | None = None,
    ) -> str:
        result = subprocess.run(
            [*COMPOSE, "--project-name", PROJECT, "--env-file", str(self.env_file),
             "--file", str(ROOT / "compose.yaml"), *args],
            env=self.env | (env or {}), capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(
                f"podman-compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result.stdout + result.stderr if stderr else result.stdout

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


def remove_leftovers() -> None:
    """What a failed run left of this project: its containers, volumes and network."""
    for name in podman("ps", "--all", "--format", "{{.Names}}", "--filter", PROJECT_LABEL).split():
        subprocess.run(["podman", "rm", "--force", "--depend", "--time", "10", name], check=False)
    for name in podman("volume", "ls", "--format", "{{.Name}}", "--filter", PROJECT_LABEL).split():
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
    if left := stack.leftovers():
        pytest.fail(
            f"containers, volumes or the network of project {PROJECT} exist from an "
            f"earlier run: {left!r}; remove them with "
            f"`podman-compose -p {PROJECT} down -v --remove-orphans`"
        )
    try:
        stack.compose("up", "--detach")
        stack.token = stack.make_token()
        yield stack
    finally:
        # The last test takes the stack down and checks it; this is for a run that
        # stopped before it.
        try:
            if not stack.is_down:
                stack.down()
        finally:
            remove_leftovers()
        assert not stack.leftovers(), f"left behind after down: {stack.leftovers()}"


def curl(token: str, *args: str) -> dict[str, object]:
    """Run curl like the seed does, with a bearer token, returning the JSON it prints."""
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "15",
         "--header", f"Authorization: Bearer {token}", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(result.stdout))
