"""Rollups kept exact by triggers, as StatusCount is (0002): tasks per owner and
status (OwnerStatusCount), and finished tasks per minute, kind, outcome and owner
with their run times (FinishedMinute). The counters of a user who sees only their
own tasks and both charts read these, never rows in proportion to the history or
to the hour's activity. The tables are filled from the existing rows.

Every insert, delete and change of a task record's status, finish time, kind, owner
or run time adjusts them, whatever wrote it (the app, the admin, a bulk load,
retention). A later migration that rebuilds tasks_taskrecord on SQLite drops these
triggers with the table: like 0002's, drop them before (`drop_triggers`) and
create them after (`create_triggers`, which also counts the rows again).
"""

import datetime
from collections.abc import Callable

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

FINISHED = "('SUCCESS', 'FAILURE', 'REVOKED')"  # models.FINISHED_STATUSES
COLUMNS = "status, finished_at, kind, owner_id, run_time"

# What differs between the two databases: the minute a moment falls in, and a zero
# run time (SQLite keeps durations as microseconds, PostgreSQL as intervals).
MINUTE: dict[str, Callable[[str], str]] = {
    "sqlite": lambda moment: f"strftime('%Y-%m-%d %H:%M:00', {moment})",
    "postgresql": lambda moment: f"date_trunc('minute', {moment})",
}
ZERO = {"sqlite": "0", "postgresql": "interval '0'"}


def finished(row: str) -> str:
    return f"{row}.status IN {FINISHED} AND {row}.finished_at IS NOT NULL"


def add(vendor: str, row: str) -> list[str]:
    """Statements that count `row` (NEW) in: under its owner, and for the minute
    rollup under EVERYONE (0) too. Each upserts, so a new key starts at one."""
    minute, zero = MINUTE[vendor](f"{row}.finished_at"), ZERO[vendor]
    timed = f"CASE WHEN {row}.run_time IS NULL THEN 0 ELSE 1 END"
    statements = [
        f"""INSERT INTO tasks_ownerstatuscount (owner_id, status, count)
            SELECT {row}.owner_id, {row}.status, 1 WHERE {row}.owner_id IS NOT NULL
            ON CONFLICT (owner_id, status)
            DO UPDATE SET count = tasks_ownerstatuscount.count + 1"""
    ]
    for owner, owned in ((f"{row}.owner_id", f" AND {row}.owner_id IS NOT NULL"), ("0", "")):
        statements.append(
            f"""INSERT INTO tasks_finishedminute
                  (minute, kind, status, owner_id, count, timed, run_time)
                SELECT {minute}, {row}.kind, {row}.status, {owner}, 1, {timed},
                       coalesce({row}.run_time, {zero})
                WHERE {finished(row)}{owned}
                ON CONFLICT (owner_id, minute, kind, status) DO UPDATE SET
                  count = tasks_finishedminute.count + 1,
                  timed = tasks_finishedminute.timed + excluded.timed,
                  run_time = tasks_finishedminute.run_time + excluded.run_time"""
        )
    return statements


def subtract(vendor: str, row: str) -> list[str]:
    """Statements that count `row` (OLD) out; a minute's row that falls to zero goes,
    so the rollup holds only minutes in which some task that still exists finished."""
    minute, zero = MINUTE[vendor](f"{row}.finished_at"), ZERO[vendor]
    timed = f"CASE WHEN {row}.run_time IS NULL THEN 0 ELSE 1 END"
    statements = [
        f"""UPDATE tasks_ownerstatuscount SET count = count - 1
            WHERE owner_id = {row}.owner_id AND status = {row}.status"""
    ]
    for owner in (f"{row}.owner_id", "0"):  # a NULL owner matches no row
        key = (
            f"owner_id = {owner} AND minute = {minute} AND kind = {row}.kind "
            f"AND status = {row}.status AND {finished(row)}"
        )
        statements.append(
            f"""UPDATE tasks_finishedminute SET count = count - 1, timed = timed - {timed},
                  run_time = run_time - coalesce({row}.run_time, {zero})
                WHERE {key}"""
        )
        statements.append(f"DELETE FROM tasks_finishedminute WHERE {key} AND count = 0")
    return statements


def sqlite_triggers() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS.split(", "))

    def body(statements: list[str]) -> str:
        return "".join(f"{s};\n" for s in statements)

    return [
        f"""CREATE TRIGGER task_rollup_insert AFTER INSERT ON tasks_taskrecord BEGIN
            {body(add("sqlite", "NEW"))} END""",
        f"""CREATE TRIGGER task_rollup_delete AFTER DELETE ON tasks_taskrecord BEGIN
            {body(subtract("sqlite", "OLD"))} END""",
        f"""CREATE TRIGGER task_rollup_update AFTER UPDATE OF {COLUMNS} ON tasks_taskrecord
            WHEN {changed} BEGIN
            {body(subtract("sqlite", "OLD") + add("sqlite", "NEW"))} END""",
    ]


def postgresql_triggers() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in COLUMNS.split(", "))
    out = "".join(f"{s};\n" for s in subtract("postgresql", "OLD"))
    into = "".join(f"{s};\n" for s in add("postgresql", "NEW"))
    return [
        f"""CREATE FUNCTION tasks_roll_up() RETURNS trigger AS $$
            BEGIN
              IF TG_OP IN ('DELETE', 'UPDATE') THEN
                {out}
              END IF;
              IF TG_OP IN ('INSERT', 'UPDATE') THEN
                {into}
              END IF;
              RETURN NULL;
            END $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER task_rollup_insert_delete AFTER INSERT OR DELETE ON tasks_taskrecord
           FOR EACH ROW EXECUTE FUNCTION tasks_roll_up()""",
        f"""CREATE TRIGGER task_rollup_update AFTER UPDATE OF {COLUMNS} ON tasks_taskrecord
            FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION tasks_roll_up()""",
    ]


DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS task_rollup_insert",
        "DROP TRIGGER IF EXISTS task_rollup_delete",
        "DROP TRIGGER IF EXISTS task_rollup_update",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS task_rollup_insert_delete ON tasks_taskrecord",
        "DROP TRIGGER IF EXISTS task_rollup_update ON tasks_taskrecord",
        "DROP FUNCTION IF EXISTS tasks_roll_up()",
    ],
}


def fill(vendor: str) -> list[str]:
    """Count the existing rows in, as the triggers would have."""
    minute, zero = MINUTE[vendor]("finished_at"), ZERO[vendor]
    per_minute = f"""INSERT INTO tasks_finishedminute
          (minute, kind, status, owner_id, count, timed, run_time)
        SELECT {minute}, kind, status, {{owner}}, count(*), count(run_time),
               coalesce(sum(run_time), {zero})
        FROM tasks_taskrecord WHERE {finished("tasks_taskrecord")}{{owned}}
        GROUP BY {minute}, kind, status{{group}}"""
    return [
        """INSERT INTO tasks_ownerstatuscount (owner_id, status, count)
           SELECT owner_id, status, count(*) FROM tasks_taskrecord
           WHERE owner_id IS NOT NULL GROUP BY owner_id, status""",
        per_minute.format(owner="owner_id", owned=" AND owner_id IS NOT NULL", group=", owner_id"),
        per_minute.format(owner="0", owned="", group=""),
    ]


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in MINUTE:
        raise RuntimeError(f"no rollup triggers written for {vendor}")
    triggers = sqlite_triggers() if vendor == "sqlite" else postgresql_triggers()
    with schema_editor.connection.cursor() as cursor:
        for statement in fill(vendor) + triggers:
            cursor.execute(statement)


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for statement in DROP.get(schema_editor.connection.vendor, []):
            cursor.execute(statement)
        cursor.execute("DELETE FROM tasks_finishedminute")
        cursor.execute("DELETE FROM tasks_ownerstatuscount")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0009_run_time")]

    operations = [
        migrations.CreateModel(
            name="FinishedMinute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("minute", models.DateTimeField()),
                (
                    "kind",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "instant"),
                            (1, "short"),
                            (2, "medium"),
                            (3, "long"),
                            (4, "cpu-heavy"),
                            (5, "failing"),
                            (6, "flaky"),
                            (7, "notify"),
                        ]
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("PENDING", "pending"),
                            ("STARTED", "running"),
                            ("RETRY", "retrying"),
                            ("SUCCESS", "succeeded"),
                            ("FAILURE", "failed"),
                            ("REVOKED", "cancelled"),
                        ],
                        max_length=8,
                    ),
                ),
                ("owner_id", models.BigIntegerField()),
                ("count", models.BigIntegerField(default=0)),
                ("timed", models.BigIntegerField(default=0)),
                ("run_time", models.DurationField(default=datetime.timedelta(0))),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("owner_id", "minute", "kind", "status"),
                        name="finished_minute_unique",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OwnerStatusCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("owner_id", models.BigIntegerField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("PENDING", "pending"),
                            ("STARTED", "running"),
                            ("RETRY", "retrying"),
                            ("SUCCESS", "succeeded"),
                            ("FAILURE", "failed"),
                            ("REVOKED", "cancelled"),
                        ],
                        max_length=8,
                    ),
                ),
                ("count", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("owner_id", "status"), name="owner_status_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        # CREATE INDEX: no table rebuild, so the triggers stay.
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(fields=["owner", "status", "id"], name="task_owner_status_idx"),
        ),
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(fields=["owner", "retry_of"], name="task_owner_retry_of_idx"),
        ),
    ]
