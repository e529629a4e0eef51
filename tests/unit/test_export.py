"""The CSV export (README "Add your own task"): its body on records in the test
database, called directly, and its file's download and removal."""

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from webapp.tasks.catalogue import bodies, exports
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.running import retention

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.EXPORT_DIR = tmp_path / "exports"  # missing: the export creates it
    settings.DASHBOARD_REQUIRE_LOGIN = True
    return Path(settings.EXPORT_DIR)


def finished(kind: Kind, owner: User | None, status: Status = Status.SUCCESS) -> TaskRecord:
    record = TaskRecord.submit(kind, owner=owner)
    now = timezone.now()
    TaskRecord.objects.filter(pk=record.pk).update(
        status=status,
        started_at=now,
        finished_at=now,
        run_time=timedelta(seconds=1.5),
        error="ValueError: boom" if status == Status.FAILURE else "",
    )
    record.refresh_from_db()
    return record


def export(owner: User | None, reported: list[int], **params: Any) -> tuple[TaskRecord, Any]:
    record = TaskRecord.submit(Kind.EXPORT, owner=owner, params=params)
    result = bodies.run(
        Kind.EXPORT, 1.0, reported.append, params=params, task_id=str(record.task_id)
    )
    return record, result


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice-export")


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob-export")


def test_it_writes_the_owners_filtered_tasks_in_batches_reporting_progress(
    alice: User, bob: User, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bodies, "EXPORT_BATCH", 2)
    hers = [finished(Kind.SHORT, alice) for _ in range(5)]
    failed = finished(Kind.FAILING, alice, Status.FAILURE)
    finished(Kind.SHORT, bob)  # someone else's: never in her file
    reported: list[int] = []

    _, result = export(alice, reported, status="SUCCESS", kind="short")

    rows = rows_of(export_dir / result["file"])
    assert [row["id"] for row in rows] == [str(task.task_id) for task in hers]
    assert {(row["kind"], row["status"], row["run_time"]) for row in rows} == {
        ("short", "SUCCESS", "1.500")
    }
    assert result["rows"] == 5
    assert result["bytes"] == (export_dir / result["file"]).stat().st_size
    assert reported == [40, 80, 100]  # rows done over the 5 counted at the start
    assert str(failed.task_id) not in (export_dir / result["file"]).read_text()


def test_any_filter_exports_all_her_tasks_with_their_errors(alice: User, bob: User) -> None:
    ok = finished(Kind.SHORT, alice)
    failed = finished(Kind.FAILING, alice, Status.FAILURE)
    finished(Kind.FAILING, bob, Status.FAILURE)

    record, result = export(alice, [], status="any", kind="any")

    rows = rows_of(exports.path_of(record.task_id))
    by_id = {row["id"]: row for row in rows}
    # Herself included: counted before it started, as PENDING.
    assert set(by_id) == {str(ok.task_id), str(failed.task_id), str(record.task_id)}
    assert by_id[str(failed.task_id)]["error"] == "ValueError: boom"
    assert result["rows"] == 3


def test_staff_export_everyones_tasks(alice: User, bob: User) -> None:
    carol = User.objects.create_user("carol-export", is_staff=True)
    tasks = [finished(Kind.SHORT, alice), finished(Kind.SHORT, bob)]

    _, result = export(carol, [], kind="short")

    assert result["rows"] == len(tasks)


def test_a_search_that_is_not_an_id_prefix_fails_saying_why(alice: User) -> None:
    with pytest.raises(ValueError, match="start of a task id"):
        export(alice, [], search="not hex!")


# --- The download -----------------------------------------------------------------------


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def succeeded_export(owner: User) -> TaskRecord:
    record, result = export(owner, [])
    TaskRecord.mark_succeeded(str(record.task_id), result)
    return record


def test_the_owner_downloads_the_file_and_others_get_404(alice: User, bob: User) -> None:
    finished(Kind.SHORT, alice)
    record = succeeded_export(alice)

    mine = as_user(alice).get(f"/tasks/{record.task_id}/download/")
    theirs = as_user(bob).get(f"/tasks/{record.task_id}/download/", headers={"Accept": "*/*"})

    assert mine.status_code == 200
    assert mine["Content-Type"] == "text/csv"
    assert mine["Content-Disposition"].startswith("attachment;")
    assert b"".join(mine.streaming_content).startswith(b"id,kind,status")  # type: ignore[attr-defined]
    assert theirs.status_code == 404
    assert theirs.json() == {"error": f"There is no task with id '{record.task_id}'."}


def test_the_detail_page_links_the_file_once_it_is_there(alice: User) -> None:
    record = succeeded_export(alice)
    page = as_user(alice).get(f"/tasks/{record.task_id}/", headers={"Accept": "text/html"})

    assert b"Download CSV" in page.content


@pytest.mark.parametrize(
    ("setup", "message"),
    [("not an export", "not a CSV export"), ("running", "is STARTED"), ("removed", "was removed")],
)
def test_no_file_is_a_404_saying_why(alice: User, setup: str, message: str) -> None:
    if setup == "not an export":
        record = finished(Kind.SHORT, alice)
    elif setup == "running":
        record = TaskRecord.submit(Kind.EXPORT, owner=alice)
        TaskRecord.objects.filter(pk=record.pk).update(status=Status.STARTED)
    else:
        record = succeeded_export(alice)
        exports.path_of(record.task_id).unlink()

    response = as_user(alice).get(
        f"/tasks/{record.task_id}/download/", headers={"Accept": "application/json"}
    )

    assert response.status_code == 404
    assert message in response.json()["error"]


def test_deleting_the_task_removes_its_file(alice: User) -> None:
    record = succeeded_export(alice)
    path = exports.path_of(record.task_id)

    response = as_user(alice).post(
        f"/tasks/{record.task_id}/delete/", headers={"Accept": "application/json"}
    )

    assert response.status_code == 200, response.content
    assert not path.exists()


def test_retention_removes_the_files_of_the_tasks_it_deletes(alice: User) -> None:
    kept = succeeded_export(alice)
    gone = succeeded_export(alice)
    TaskRecord.objects.filter(pk=gone.pk).update(finished_at=timezone.now() - timedelta(days=1))

    retention.delete_finished(TaskRecord.objects.filter(pk=gone.pk), timezone.now())

    assert not exports.path_of(gone.task_id).exists()
    assert exports.path_of(kept.task_id).exists()
