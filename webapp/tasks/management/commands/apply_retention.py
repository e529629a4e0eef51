"""manage.py apply_retention: the periodic retention job, run once by hand."""

from typing import Any

from django.core.management.base import BaseCommand

from webapp.tasks.running.retention import apply_retention


class Command(BaseCommand):
    help = (
        "Delete finished tasks older than TASK_RETENTION_DAYS, worker rows unseen for a "
        "day and expired sessions: what celery beat runs every RETENTION_INTERVAL_SECONDS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Retention: {apply_retention()}.")
