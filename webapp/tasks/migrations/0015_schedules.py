"""Periodic schedules (django-celery-beat's PeriodicTask, plus what to launch and for
whom) and each run's link to its schedule: a nullable column with no default, so
SQLite adds it in place and the counting triggers stay."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        ('tasks', '0014_scheduled'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Schedule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.PositiveSmallIntegerField(choices=[(0, 'instant'), (1, 'short'), (2, 'medium'), (3, 'long'), (4, 'cpu-heavy'), (5, 'failing'), (6, 'flaky'), (7, 'notify')])),
                ('params', models.JSONField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_fired_at', models.DateTimeField(blank=True, null=True)),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='schedules', to=settings.AUTH_USER_MODEL)),
                ('periodic_task', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='dashboard', to='django_celery_beat.periodictask')),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.AddField(
            model_name='taskrecord',
            name='schedule',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='runs', to='tasks.schedule'),
        ),
        migrations.AddIndex(
            model_name='taskrecord',
            index=models.Index(fields=['schedule', 'id'], name='task_schedule_idx'),
        ),
    ]
