"""The Celery wrapper keeps the record up to date (run eagerly, without a broker)."""

import pytest
from django.test import override_settings

from webapp.tasks.kinds import Kind
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.tasks import run_task

pytestmark = pytest.mark.django_db


@override_settings(TASK_TIME_SCALE=0.001)
def test_run_task_marks_its_record_succeeded() -> None:
    task = TaskRecord.objects.create(kind=Kind.SHORT)

    run_task.apply(args=(int(Kind.SHORT),), task_id=str(task.task_id))

    task.refresh_from_db()
    assert task.status == Status.SUCCESS
    assert task.progress == 100


def test_run_task_marks_its_record_failed_on_an_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("webapp.tasks.work.run", explode)
    task = TaskRecord.objects.create(kind=Kind.SHORT)

    run_task.apply(args=(int(Kind.SHORT),), task_id=str(task.task_id))

    task.refresh_from_db()
    assert task.status == Status.FAILURE
    assert task.error == "RuntimeError: disk on fire"
