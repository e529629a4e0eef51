"""SCHEDULED: a task held in the database until its time (`eta`, `countdown`), with
`run_at`, and the index the scheduler's one query per tick reads.

"SCHEDULED" has nine letters, one more than the status columns held; widening them
rebuilds tasks_taskrecord on SQLite, which drops its triggers, and PostgreSQL will
not change the type of a column a trigger names (UPDATE OF status). So the status
count triggers (0002) and the rollup triggers (0010) are dropped first and created
again after, which also counts the rows again. StatusCount holds a row per status,
which its trigger only updates: SCHEDULED gets its row here. (The rollups upsert,
so a user's SCHEDULED count starts by itself.)
"""

import importlib

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

STATUS_COUNTS = importlib.import_module("webapp.tasks.migrations.0002_status_count_triggers")
ROLLUPS = importlib.import_module("webapp.tasks.migrations.0010_rollups")

CHOICES = [
    ("SCHEDULED", "scheduled"),
    ("PENDING", "pending"),
    ("STARTED", "running"),
    ("RETRY", "retrying"),
    ("SUCCESS", "succeeded"),
    ("FAILURE", "failed"),
    ("REVOKED", "cancelled"),
]


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    ROLLUPS.drop_triggers(apps, schema_editor)
    STATUS_COUNTS.drop_triggers(apps, schema_editor)


def restore_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Going back: the triggers as 0002 and 0010 made them, six statuses counted."""
    STATUS_COUNTS.create_triggers(apps, schema_editor)
    ROLLUPS.create_triggers(apps, schema_editor)


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    STATUS_COUNTS.create_triggers(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tasks_statuscount (status, count) "
            "SELECT 'SCHEDULED', count(*) FROM tasks_taskrecord WHERE status = 'SCHEDULED'"
        )
    ROLLUPS.create_triggers(apps, schema_editor)


def drop_triggers_unless_scheduled(
    apps: StateApps, schema_editor: BaseDatabaseSchemaEditor
) -> None:
    """Going back: the narrower columns can't hold SCHEDULED tasks, and no code before
    this one would ever publish them."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tasks_taskrecord WHERE status = 'SCHEDULED'")
        (scheduled,) = cursor.fetchone()
    if scheduled:
        raise RuntimeError(
            f"{scheduled} tasks are SCHEDULED: cancel or run them before migrating back"
        )
    drop_triggers(apps, schema_editor)


def status(**options: object) -> models.CharField:  # type: ignore[type-arg]
    return models.CharField(choices=CHOICES, max_length=9, **options)  # type: ignore[arg-type]


class Migration(migrations.Migration):
    dependencies = [("tasks", "0012_queues")]

    operations = [
        migrations.RunPython(drop_triggers, restore_triggers),
        migrations.AlterField("taskrecord", "status", status(default="PENDING")),
        migrations.AlterField("taskevent", "status", status()),
        migrations.AlterField(
            "statuscount", "status", status(primary_key=True, serialize=False)
        ),
        migrations.AlterField("ownerstatuscount", "status", status()),
        migrations.AlterField("finishedminute", "status", status()),
        migrations.AddField(
            model_name="taskrecord",
            name="run_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(fields=["status", "run_at"], name="task_due_idx"),
        ),
        migrations.RunPython(create_triggers, drop_triggers_unless_scheduled),
    ]
