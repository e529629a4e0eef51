"""Record which run of a worker started each task, and each worker's current run, so a
task whose worker died can be failed instead of staying STARTED (workers.py).

On SQLite, adding a NOT NULL column with a default rebuilds the table, which drops
its triggers: the status-count triggers of 0002 are dropped before and recreated
(with freshly counted rows) after. Any later AddField on TaskRecord needs the same.
"""

import importlib

from django.db import migrations, models

counts = importlib.import_module("webapp.tasks.migrations.0002_status_count_triggers")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0004_chart_index")]

    operations = [
        migrations.RunPython(counts.drop_triggers, counts.create_triggers),
        migrations.AddField(
            model_name="taskrecord",
            name="worker_instance",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="workerstatus",
            name="instance",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.RunPython(counts.create_triggers, counts.drop_triggers),
    ]
