"""Queues that can be paused (QueueState), and the queues each worker serves and
consumes from now (WorkerStatus.queues, .consuming), and an index for each queue's
oldest waiting task: see webapp/tasks/queues.py. The index is a CREATE INDEX, so
the task table is not rebuilt and its counting triggers (0002, 0010) stay."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0011_task_params"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="workerstatus",
            name="consuming",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="workerstatus",
            name="queues",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(fields=["status", "kind", "id"], name="task_status_kind_idx"),
        ),
        migrations.CreateModel(
            name="QueueState",
            fields=[
                ("name", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("paused", models.BooleanField(default=False)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "changed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
            },
        ),
    ]
