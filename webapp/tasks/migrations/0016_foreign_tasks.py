"""Tasks published outside the dashboard (seen.py): a Celery task name and the
arguments the message carried, and no kind. Making `kind` nullable rebuilds the
task table on SQLite, which drops its counting triggers (0002, 0010) with it: they
are dropped before and created again after, without recounting (no row changes in
between). The rollup triggers are 0010's with one change: a task without a kind is
counted in the per-minute rollup under FinishedMinute.ELSEWHERE, so that the charts
still count foreign tasks by outcome (StatusCount, 0002, counts them by status as it
is). A later migration that rebuilds the table drops and creates them as this one
does (`drop_triggers`, `create_triggers`)."""

import importlib

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

status_counts = importlib.import_module("webapp.tasks.migrations.0002_status_count_triggers")
rollups = importlib.import_module("webapp.tasks.migrations.0010_rollups")

ELSEWHERE = 32767  # models.FinishedMinute.ELSEWHERE


def rollup_triggers(vendor: str, kind_of: str) -> list[str]:
    """0010's triggers, with each row's kind read through `kind_of` ({row}: NEW, OLD)."""
    statements = rollups.sqlite_triggers() if vendor == "sqlite" else rollups.postgresql_triggers()
    return [
        statement.replace("NEW.kind", kind_of.format(row="NEW")).replace(
            "OLD.kind", kind_of.format(row="OLD")
        )
        for statement in statements
    ]


def replace_triggers(
    schema_editor: BaseDatabaseSchemaEditor, kind_of: str, create: bool = True
) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise RuntimeError(f"no counting triggers written for {vendor}")
    with schema_editor.connection.cursor() as cursor:
        for statement in status_counts.DROP[vendor] + rollups.DROP[vendor]:
            cursor.execute(statement)
        if create:
            counting = status_counts.SQLITE if vendor == "sqlite" else status_counts.POSTGRESQL
            for statement in counting + rollup_triggers(vendor, kind_of):
                cursor.execute(statement)


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    replace_triggers(schema_editor, "", create=False)


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    replace_triggers(schema_editor, f"coalesce({{row}}.kind, {ELSEWHERE})")


def create_0010_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    replace_triggers(schema_editor, "{row}.kind")


def forget_foreign_tasks(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Back to a NOT NULL kind: tasks without one cannot stay.
    apps.get_model("tasks", "TaskRecord").objects.filter(kind__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("tasks", "0015_schedules")]

    operations = [
        migrations.RunPython(drop_triggers, create_0010_triggers),
        migrations.AddField(
            model_name="taskrecord",
            name="name",
            # A database default too: raw inserts (bench/fill.py, other programs) that
            # do not know the column keep working.
            field=models.CharField(blank=True, max_length=255, default="", db_default=""),
        ),
        migrations.AddField(
            model_name="taskrecord",
            name="args",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="taskrecord",
            name="kwargs",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="taskrecord",
            name="kind",
            field=models.PositiveSmallIntegerField(
                blank=True,
                choices=[
                    (0, "instant"),
                    (1, "short"),
                    (2, "medium"),
                    (3, "long"),
                    (4, "cpu-heavy"),
                    (5, "failing"),
                    (6, "flaky"),
                    (7, "notify"),
                ],
                null=True,
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        # Backwards, first: the triggers still count the rows out.
        migrations.RunPython(migrations.RunPython.noop, forget_foreign_tasks),
    ]
