"""A worker's events give up when Redis is away, so a worker told to stop then stops,
as `podman-compose down` asks of it: that stops every container at once, Redis
included. Celery sends the heartbeat (every 2 s) and worker-offline with `retry=True`
and no policy, which kombu retries for ever once its connection was up, holding the
worker's loop that would see the stop: podman killed the workers after the timeout
(their stack, dumped with SIGUSR1, was in the heartbeat's retry)."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Stack, wait_for
from tests.reliability.conftest import private_stack
from webapp.celery import app


@pytest.fixture
def redis_stack(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with private_stack(migrated, tmp_path_factory.mktemp("stop-without-redis")) as stack:
        yield stack


def test_a_heartbeat_gives_up_when_redis_went_away(redis_stack: Stack) -> None:
    with app.connection_for_write(redis_stack.env["REDIS_URL"]) as connection:
        dispatcher = app.events.Dispatcher(connection, hostname="worker@test", enabled=True)
        dispatcher.send("worker-heartbeat", retry=True)  # connected, as a running worker is
        redis_stack.services["redis"].stop()
        ended: list[str] = []

        def heartbeat() -> None:
            # Heart._send's call. A failed event is kept for later (buffer_while_offline).
            dispatcher.send("worker-heartbeat", retry=True)
            ended.append("returned")

        threading.Thread(target=heartbeat, daemon=True).start()

        wait_for(lambda: ended, 20, "the heartbeat to give up")
