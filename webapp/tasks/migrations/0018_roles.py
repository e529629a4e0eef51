"""Roles: the dashboard's permissions, the viewer, operator and admin groups that hold
them, and a role on each token in place of its read-only flag.

Every token keeps the rights it had: a read-only token becomes a viewer token; any
other acts as its user's role then (staff and superusers: admin; others: operator,
as nobody was in a role group yet). The groups' permissions are written here as
they were decided, not imported, so that this migration means the same later."""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

ROLE_PERMISSIONS = {
    "viewer": ["view_all_tasks"],
    "operator": ["launch_task", "steer_task", "manage_schedules", "bulk_act"],
    "admin": [
        "launch_task",
        "steer_task",
        "manage_schedules",
        "bulk_act",
        "steer_queue",
        "view_all_tasks",
        "view_audit",
    ],
}
# The Django admin's token pages (list, revoke), for admins who are also staff.
ADMIN_MODEL_PERMISSIONS = ["view_apitoken", "change_apitoken"]


def create_groups(apps: Any, schema_editor: Any) -> None:
    # The permissions are otherwise made after the last migration (post_migrate).
    app_config = apps.get_app_config("tasks")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        extra = ADMIN_MODEL_PERMISSIONS if role == "admin" else []
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="tasks", codename__in=[*codenames, *extra]
            )
        )
    ApiToken = apps.get_model("tasks", "ApiToken")
    ApiToken.objects.filter(read_only=True).update(role="viewer")
    staff = models.Q(user__is_staff=True) | models.Q(user__is_superuser=True)
    ApiToken.objects.filter(staff, read_only=False).update(role="admin")
    ApiToken.objects.exclude(staff).filter(read_only=False).update(role="operator")


def restore_read_only(apps: Any, schema_editor: Any) -> None:
    ApiToken = apps.get_model("tasks", "ApiToken")
    ApiToken.objects.filter(role="viewer").update(read_only=True)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tasks", "0017_export_kind"),
    ]

    operations = [
        migrations.CreateModel(
            name="DashboardPermissions",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [
                    (
                        "launch_task",
                        "Launch tasks (launch buttons, catalogue forms, POST /tasks/)",
                    ),
                    (
                        "steer_task",
                        "Cancel, retry, run now, delete and clear the tasks one sees",
                    ),
                    (
                        "manage_schedules",
                        "Add, edit, switch, run and delete the schedules one sees",
                    ),
                    ("bulk_act", "Cancel, retry or delete many of the tasks one sees at once"),
                    ("steer_queue", "Pause and resume queues (they hold everyone's tasks)"),
                    (
                        "view_all_tasks",
                        "See every user's tasks and schedules, not only one's own",
                    ),
                    ("view_audit", "Read the audit trail"),
                ],
            },
        ),
        migrations.AddField(
            model_name="apitoken",
            name="role",
            field=models.CharField(
                choices=[("viewer", "Viewer"), ("operator", "Operator"), ("admin", "Admin")],
                default="operator",
                max_length=16,
            ),
        ),
        migrations.RunPython(create_groups, restore_read_only),
        migrations.RemoveField(model_name="apitoken", name="read_only"),
    ]
