"""A worker's row in the workers panel: written when it is ready, kept by its heartbeat,
and written by the heartbeat when the ready one could not be (in compose a worker may
be ready before web has made the tables: podman 4.3 ignores `depends_on` conditions)."""

from types import SimpleNamespace

import pytest

from webapp.tasks.models import WorkerStatus
from webapp.tasks.running import workers

pytestmark = pytest.mark.django_db


def ready_worker(hostname: str) -> SimpleNamespace:
    """What Celery's worker_ready hands over: the consumer (not yet consuming here)."""
    return SimpleNamespace(
        hostname=hostname, pool=SimpleNamespace(num_processes=2), task_consumer=None
    )


def heartbeat_of(hostname: str) -> SimpleNamespace:
    return SimpleNamespace(eventer=SimpleNamespace(hostname=hostname))


def test_a_ready_worker_is_listed() -> None:
    workers.record_worker_ready(sender=ready_worker("worker-cpu@a"))

    assert [w.hostname for w in WorkerStatus.online()] == ["worker-cpu@a"]
    assert WorkerStatus.objects.get().concurrency == 2


def test_a_worker_whose_ready_row_was_not_written_is_listed_at_its_next_heartbeat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It became ready (its row not written: no tables yet), then the tables appeared.
    monkeypatch.setattr(workers, "CONSUMER", ready_worker("worker-cpu@b"))

    workers.record_heartbeat(sender=heartbeat_of("worker-cpu@b"))

    listed = WorkerStatus.objects.get()
    assert listed.hostname == "worker-cpu@b"
    assert listed.concurrency == 2
    assert listed in WorkerStatus.online()


def test_a_heartbeat_before_ready_lists_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "CONSUMER", None)

    workers.record_heartbeat(sender=heartbeat_of("worker@c"))

    assert not WorkerStatus.objects.exists()
