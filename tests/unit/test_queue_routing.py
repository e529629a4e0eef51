"""Every path that publishes a task sends it to its kind's queue."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from webapp.celery import app as celery_app
from webapp.tasks.catalogue.kinds import Kind, kinds_of, queue_names
from webapp.tasks.models import TaskRecord
from webapp.tasks.running import publishing

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The queue each published task id was sent to (nothing reaches a broker)."""
    cache.clear()
    queues: dict[str, object] = {}

    def send_task(name: str, args: tuple[int], task_id: str, **options: object) -> None:
        queues[task_id] = options.get("queue")

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return queues


def test_the_cpu_heavy_kind_has_a_queue_of_its_own_and_the_rest_share_the_default() -> None:
    assert queue_names() == ["default", "cpu"]
    assert kinds_of("cpu") == [Kind.CPU]
    assert Kind.SHORT.queue == Kind.NOTIFY.queue == "default"


def test_a_launch_publishes_to_its_kinds_queue(sent: dict[str, object]) -> None:
    publishing.publish("cpu-task", Kind.CPU)
    publishing.publish("short-task", Kind.SHORT)

    assert sent == {"cpu-task": "cpu", "short-task": "default"}


def test_the_orphan_sweep_sends_a_cpu_task_again_to_the_cpu_queue(
    sent: dict[str, object],
) -> None:
    record = TaskRecord.submit(Kind.CPU)
    TaskRecord.objects.filter(pk=record.pk).update(
        submitted_at=timezone.now() - timedelta(seconds=60)
    )

    assert publishing.requeue_orphans() == [str(record.task_id)]
    assert sent == {str(record.task_id): "cpu"}
