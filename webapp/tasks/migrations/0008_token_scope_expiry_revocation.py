"""API tokens: read-only ones, an optional expiry, revocation, and a shown prefix.

Only the tokens' table changes, so the status-count triggers on TaskRecord stay.
Tokens made before have no prefix; they still work, and are revoked by user or name.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tasks", "0006_notify_kind")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="prefix",
            field=models.CharField(blank=True, editable=False, max_length=12),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="read_only",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
