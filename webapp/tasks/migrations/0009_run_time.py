"""Store each finished task's run time, indexed with the id, so that the table sorts by
run time with keyset pages (dashboard.SORTS). Finished tasks get theirs from their
timestamps. As in 0005, the status-count triggers are dropped around the AddField,
in case SQLite rebuilds the table."""

import importlib

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import ExpressionWrapper, F

counts = importlib.import_module("webapp.tasks.migrations.0002_status_count_triggers")


def fill_run_times(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    task_record = apps.get_model("tasks", "TaskRecord")
    task_record.objects.filter(finished_at__isnull=False, started_at__isnull=False).update(
        run_time=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=models.DurationField())
    )


class Migration(migrations.Migration):
    dependencies = [("tasks", "0008_token_scope_expiry_revocation")]

    operations = [
        migrations.RunPython(counts.drop_triggers, counts.create_triggers),
        migrations.AddField(
            model_name="taskrecord",
            name="run_time",
            field=models.DurationField(blank=True, null=True),
        ),
        migrations.RunPython(counts.create_triggers, counts.drop_triggers),
        migrations.RunPython(fill_run_times, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(fields=["run_time", "id"], name="task_run_time_idx"),
        ),
    ]
