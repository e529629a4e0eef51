"""Operators can filter and search the task history in the admin."""

import pytest
from django.test import Client

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import TaskRecord

pytestmark = pytest.mark.django_db


def test_admin_lists_filters_and_searches_tasks(admin_client: Client) -> None:
    failed = TaskRecord.submit(Kind.FAILING)
    TaskRecord.mark_started(str(failed.task_id), worker="w1")
    TaskRecord.mark_failed(str(failed.task_id), "JSONDecodeError: boom")
    TaskRecord.submit(Kind.SHORT)

    filtered = admin_client.get("/admin/tasks/taskrecord/?status__exact=FAILURE")
    searched = admin_client.get("/admin/tasks/taskrecord/?q=JSONDecodeError")
    detail = admin_client.get(f"/admin/tasks/taskrecord/{failed.pk}/change/")

    assert filtered.status_code == 200
    assert str(failed.task_id) in filtered.text
    assert "1 task record" in filtered.text
    assert str(failed.task_id) in searched.text
    assert "on w1" in detail.text  # the timeline inline
