"""The parameters each task was launched with (the catalogue). A nullable column
with no default, so SQLite adds it in place (ALTER TABLE ADD COLUMN) and the
counting triggers stay; rows from before keep NULL: they ran with the defaults."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tasks", "0010_rollups")]

    operations = [
        migrations.AddField(
            model_name="taskrecord",
            name="params",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
