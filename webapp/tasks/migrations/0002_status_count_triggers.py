"""Keep StatusCount exact with triggers: every insert, delete and status change of a
task record, whatever wrote it (the app, the admin, a bulk load), adjusts the count."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

STATUSES = ("PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED")

SQLITE = [
    """CREATE TRIGGER task_count_insert AFTER INSERT ON tasks_taskrecord BEGIN
         UPDATE tasks_statuscount SET count = count + 1 WHERE status = NEW.status;
       END""",
    """CREATE TRIGGER task_count_delete AFTER DELETE ON tasks_taskrecord BEGIN
         UPDATE tasks_statuscount SET count = count - 1 WHERE status = OLD.status;
       END""",
    """CREATE TRIGGER task_count_update AFTER UPDATE OF status ON tasks_taskrecord
       WHEN OLD.status <> NEW.status BEGIN
         UPDATE tasks_statuscount SET count = count - 1 WHERE status = OLD.status;
         UPDATE tasks_statuscount SET count = count + 1 WHERE status = NEW.status;
       END""",
]

POSTGRESQL = [
    """CREATE FUNCTION tasks_count_status() RETURNS trigger AS $$
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') THEN
           UPDATE tasks_statuscount SET count = count - 1 WHERE status = OLD.status;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') THEN
           UPDATE tasks_statuscount SET count = count + 1 WHERE status = NEW.status;
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER task_count_insert_delete AFTER INSERT OR DELETE ON tasks_taskrecord
       FOR EACH ROW EXECUTE FUNCTION tasks_count_status()""",
    """CREATE TRIGGER task_count_update AFTER UPDATE OF status ON tasks_taskrecord
       FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
       EXECUTE FUNCTION tasks_count_status()""",
]

DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS task_count_insert",
        "DROP TRIGGER IF EXISTS task_count_delete",
        "DROP TRIGGER IF EXISTS task_count_update",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS task_count_insert_delete ON tasks_taskrecord",
        "DROP TRIGGER IF EXISTS task_count_update ON tasks_taskrecord",
        "DROP FUNCTION IF EXISTS tasks_count_status()",
    ],
}


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise RuntimeError(f"no status-count triggers written for {vendor}")
    with schema_editor.connection.cursor() as cursor:
        for status in STATUSES:
            cursor.execute(
                "INSERT INTO tasks_statuscount (status, count) "
                "SELECT %s, count(*) FROM tasks_taskrecord WHERE status = %s",
                [status, status],
            )
        for statement in SQLITE if vendor == "sqlite" else POSTGRESQL:
            cursor.execute(statement)


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for statement in DROP.get(schema_editor.connection.vendor, []):
            cursor.execute(statement)
        cursor.execute("DELETE FROM tasks_statuscount")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
