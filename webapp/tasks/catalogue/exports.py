"""The CSV export's files: where each lives, and its removal with its task.

A file is named after its task (`<task id>.csv` in EXPORT_DIR), so the task is all
that is needed to find it: who may download it is who may see the task (access.py),
and deleting the task removes it (actions.delete_task; retention.delete_finished for
clearing and retention).
"""

import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord

NOT_AN_EXPORT = "Task {id} is not a CSV export: it has no file to download."
NOT_FINISHED = "Task {id} is {status}: its file is there once it has succeeded."
FILE_GONE = "The file of task {id} was removed; run the export again."


def export_dir() -> Path:
    directory = Path(settings.EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def file_name(task_id: object) -> str:
    # Through UUID, so that no task id can name a path outside the directory.
    return f"{uuid.UUID(str(task_id))}.csv"


def path_of(task_id: object) -> Path:
    return Path(settings.EXPORT_DIR) / file_name(task_id)


def remove_files(task_ids: Iterable[object]) -> None:
    """Remove the files of these (deleted) tasks; a task without one is fine."""
    for task_id in task_ids:
        path_of(task_id).unlink(missing_ok=True)


def missing_file(record: TaskRecord) -> str | None:
    """Why this task has no file to download, or None when it has one."""
    if record.kind != Kind.EXPORT:
        return NOT_AN_EXPORT.format(id=record.short_id)
    if record.status != Status.SUCCESS:
        return NOT_FINISHED.format(id=record.short_id, status=record.status)
    if not path_of(record.task_id).is_file():
        return FILE_GONE.format(id=record.short_id)
    return None
