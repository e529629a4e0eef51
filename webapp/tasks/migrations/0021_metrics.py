"""Metrics rollup (MetricBin): as each task finishes, one statement run by a trigger
counts it under its kind and outcome, in its minute, its hour and all time, in the
histogram bins of its queue wait and of its run time. metrics.py reads these for
percentiles, the metrics pages and GET /metrics, never the task rows.

The bins are log-linear (as HdrHistogram's): microseconds below 32 µs, then each
power of two split into 16 equal bins, so a bin is at most 1/16 of its lower bound
wide (webapp/tasks/histogram.py reads them with the same arithmetic). Computed with
a CASE over the powers of two: no log() (SQLite has it only when built with its math
functions), and the same text on SQLite and PostgreSQL.

Only the change into a finished status counts (and a row inserted finished, as a
bulk load does); a delete takes nothing back. A later migration that rebuilds
tasks_taskrecord on SQLite drops these triggers with the table: drop them before
(`uninstall`) and create them after (`install`), which count nothing again.
"""

from datetime import timedelta

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone

FINISHED = "('SUCCESS', 'FAILURE', 'REVOKED')"  # models.FINISHED_STATUSES
ELSEWHERE = 32767  # models.MetricBin.ELSEWHERE
SUB_BINS = 16  # histogram.SUB_BINS
LAST_OCTAVE = 40  # 2**41 µs is 25 days: longer times share the last bin
# Resolutions (MetricBin.ALL_TIME, MINUTE, HOUR) and the measures (WAIT, RUN).
PERIODS = ((0, "W"), (0, "R"), (60, "W"), (60, "R"), (3600, "W"), (3600, "R"))
# What the fill at migration time counts in, per resolution (metrics.KEEP).
FILL_WITHIN = {60: timedelta(hours=2), 3600: timedelta(days=8)}


def bin_of(micros: str) -> str:
    """The bin of a time in whole microseconds (NULL: never started, bin -1)."""
    octaves = " ".join(
        f"WHEN {micros} < {2 ** (e + 1)} THEN {SUB_BINS * (e - 4)} + {micros} / {2 ** (e - 4)}"
        for e in range(5, LAST_OCTAVE + 1)
    )
    last = SUB_BINS * (LAST_OCTAVE - 3) - 1
    return f"CASE WHEN {micros} IS NULL THEN -1 WHEN {micros} < 32 THEN {micros} {octaves} ELSE {last} END"


# Per database: the bucket a moment falls in, a task's queue wait and run time in
# microseconds (never below zero: the web and the worker clocks may differ a little).
# SQLite keeps moments as text and durations as microseconds; PostgreSQL timestamps
# and intervals. A scheduled task waits from its time (run_at), as queued_since says.
SQLITE = {
    "minute": lambda t: f"strftime('%Y-%m-%d %H:%M:00', {t})",
    "hour": lambda t: f"strftime('%Y-%m-%d %H:00:00', {t})",
    "epoch": "'1970-01-01 00:00:00'",
    "wait": lambda r: (
        f"CASE WHEN {r}.started_at IS NULL THEN NULL ELSE max(0, CAST(round(("
        f"julianday({r}.started_at) - julianday(max({r}.submitted_at, "
        f"coalesce({r}.run_at, {r}.submitted_at)))) * 86400000000) AS INTEGER)) END"
    ),
    "run": lambda r: f"max(0, {r}.run_time)",
}
POSTGRESQL = {
    "minute": lambda t: f"date_trunc('minute', {t})",
    "hour": lambda t: f"date_trunc('hour', {t})",
    "epoch": "timestamptz '1970-01-01 00:00:00+00'",
    # (greatest() skips NULLs: a task that never started must stay NULL, not 0.)
    "wait": lambda r: (
        f"CASE WHEN {r}.started_at IS NULL THEN NULL ELSE greatest(0, (extract(epoch FROM "
        f"{r}.started_at - greatest({r}.submitted_at, {r}.run_at)) * 1000000)::bigint) END"
    ),
    "run": lambda r: (
        f"CASE WHEN {r}.run_time IS NULL THEN NULL ELSE "
        f"greatest(0, (extract(epoch FROM {r}.run_time) * 1000000)::bigint) END"
    ),
}
SQL = {"sqlite": SQLITE, "postgresql": POSTGRESQL}


def periods(only: str = "") -> str:
    """The six (resolution, measure) rows each finished task adds to, as a table."""
    return " UNION ALL ".join(
        f"SELECT {resolution} AS resolution, '{measure}' AS measure"
        for resolution, measure in PERIODS
        if not only or only == str(resolution)
    )


def counted(vendor: str, row: str) -> str:
    """SELECT, from one task `row` (NEW, or the table in the fill), its six rows:
    start, kind, status, measure, bin, the time. The times are read once, in a
    subquery, and so is each bin."""
    sql = SQL[vendor]
    finished_at = f"{row}.finished_at"
    return (
        f"SELECT {sql['minute'](finished_at)} AS minute, {sql['hour'](finished_at)} AS hour, "
        f"coalesce({row}.kind, {ELSEWHERE}) AS kind, {row}.status AS status, "
        f"{sql['wait'](row)} AS wait, {sql['run'](row)} AS run"
    )


def upsert(vendor: str) -> str:
    """The one statement a finishing task (NEW) runs on SQLite. (LIMIT 1 keeps SQLite from
    flattening the subquery into the join, which would work out the bins once per
    row added rather than once.)"""
    sql = SQL[vendor]
    return f"""INSERT INTO tasks_metricbin
          (resolution, start, kind, status, measure, bin, count, total)
        SELECT p.resolution,
               CASE p.resolution WHEN 60 THEN t.minute WHEN 3600 THEN t.hour
                    ELSE {sql["epoch"]} END,
               t.kind, t.status, p.measure,
               CASE p.measure WHEN 'W' THEN t.wait_bin ELSE t.run_bin END, 1,
               coalesce(CASE p.measure WHEN 'W' THEN t.wait ELSE t.run END, 0)
        FROM (SELECT minute, hour, kind, status, wait, run,
                     {bin_of("wait")} AS wait_bin, {bin_of("run")} AS run_bin
              FROM ({counted(vendor, "NEW")}) AS m LIMIT 1) AS t,
             ({periods()}) AS p
        WHERE true
        ON CONFLICT (resolution, kind, start, status, measure, bin) DO UPDATE SET
          count = tasks_metricbin.count + 1,
          total = tasks_metricbin.total + excluded.total"""


WHEN_INSERTED = f"NEW.status IN {FINISHED} AND NEW.finished_at IS NOT NULL"
WHEN_FINISHED = f"{WHEN_INSERTED} AND OLD.status NOT IN {FINISHED}"


def sqlite_triggers() -> list[str]:
    return [
        f"""CREATE TRIGGER task_metrics_insert AFTER INSERT ON tasks_taskrecord
            WHEN {WHEN_INSERTED} BEGIN {upsert("sqlite")}; END""",
        f"""CREATE TRIGGER task_metrics_finish AFTER UPDATE OF status ON tasks_taskrecord
            WHEN {WHEN_FINISHED} BEGIN {upsert("sqlite")}; END""",
    ]


def postgresql_function() -> str:
    """The same six rows as upsert() counts on SQLite, from PL/pgSQL variables (each a
    simple expression, evaluated once) into a plain VALUES list: no subquery or join
    for the planner."""
    sql = POSTGRESQL
    into = "tasks_metricbin (resolution, start, kind, status, measure, bin, count, total)"
    rows = ",\n".join(
        f"({resolution}, {start}, v_kind, NEW.status, '{measure}', v_{name}_bin, 1, "
        f"coalesce(v_{name}, 0))"
        for resolution, start in ((0, sql["epoch"]), (60, "v_minute"), (3600, "v_hour"))
        for measure, name in (("W", "wait"), ("R", "run"))
    )
    return f"""CREATE FUNCTION tasks_metrics_roll_up() RETURNS trigger AS $$
        DECLARE
          v_wait bigint := {sql["wait"]("NEW")};
          v_run bigint := {sql["run"]("NEW")};
          v_wait_bin integer := {bin_of("v_wait")};
          v_run_bin integer := {bin_of("v_run")};
          v_kind integer := coalesce(NEW.kind, {ELSEWHERE});
          v_minute timestamptz := {sql["minute"]("NEW.finished_at")};
          v_hour timestamptz := {sql["hour"]("NEW.finished_at")};
        BEGIN
          INSERT INTO {into} VALUES
          {rows}
          ON CONFLICT (resolution, kind, start, status, measure, bin) DO UPDATE SET
            count = tasks_metricbin.count + 1,
            total = tasks_metricbin.total + excluded.total;
          RETURN NULL;
        END $$ LANGUAGE plpgsql"""


def postgresql_triggers() -> list[str]:
    return [
        postgresql_function(),
        f"""CREATE TRIGGER task_metrics_insert AFTER INSERT ON tasks_taskrecord
            FOR EACH ROW WHEN ({WHEN_INSERTED}) EXECUTE FUNCTION tasks_metrics_roll_up()""",
        f"""CREATE TRIGGER task_metrics_finish AFTER UPDATE OF status ON tasks_taskrecord
            FOR EACH ROW WHEN ({WHEN_FINISHED}) EXECUTE FUNCTION tasks_metrics_roll_up()""",
    ]


DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS task_metrics_insert",
        "DROP TRIGGER IF EXISTS task_metrics_finish",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS task_metrics_insert ON tasks_taskrecord",
        "DROP TRIGGER IF EXISTS task_metrics_finish ON tasks_taskrecord",
        "DROP FUNCTION IF EXISTS tasks_metrics_roll_up()",
    ],
}


def fill(vendor: str) -> tuple[str, list[object]]:
    """Count the finished tasks already there in, as the triggers would have: all
    time for all of them, the minutes and hours only as far back as they are kept."""
    sql = SQL[vendor]
    now = timezone.now()
    minute_since, hour_since = now - FILL_WITHIN[60], now - FILL_WITHIN[3600]
    statement = f"""INSERT INTO tasks_metricbin
          (resolution, start, kind, status, measure, bin, count, total)
        SELECT resolution, start, kind, status, measure, bin, count(*), sum(time)
        FROM (
          SELECT p.resolution AS resolution,
                 CASE p.resolution WHEN 60 THEN t.minute WHEN 3600 THEN t.hour
                      ELSE {sql["epoch"]} END AS start,
                 t.kind AS kind, t.status AS status, p.measure AS measure,
                 CASE p.measure WHEN 'W' THEN {bin_of("t.wait")} ELSE {bin_of("t.run")} END
                   AS bin,
                 coalesce(CASE p.measure WHEN 'W' THEN t.wait ELSE t.run END, 0) AS time
          FROM ({counted(vendor, "tasks_taskrecord")}, tasks_taskrecord.finished_at AS finished_at
                FROM tasks_taskrecord
                WHERE tasks_taskrecord.status IN {FINISHED}
                  AND tasks_taskrecord.finished_at IS NOT NULL) AS t,
               ({periods()}) AS p
          WHERE p.resolution = 0
             OR (p.resolution = 60 AND t.finished_at >= %s)
             OR (p.resolution = 3600 AND t.finished_at >= %s)
        ) AS counted
        GROUP BY resolution, start, kind, status, measure, bin"""
    return statement, [minute_since, hour_since]


def install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create the triggers, counting nothing: what a migration that rebuilds
    tasks_taskrecord on SQLite calls after the rebuild (and `uninstall` before)."""
    connection = schema_editor.connection
    if connection.vendor not in SQL:
        raise RuntimeError(f"no metrics triggers written for {connection.vendor}")
    triggers = sqlite_triggers() if connection.vendor == "sqlite" else postgresql_triggers()
    with connection.cursor() as cursor:
        for trigger in triggers:
            cursor.execute(trigger)


def uninstall(schema_editor: BaseDatabaseSchemaEditor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for statement in DROP.get(schema_editor.connection.vendor, []):
            cursor.execute(statement)


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    if connection.vendor not in SQL:
        raise RuntimeError(f"no metrics triggers written for {connection.vendor}")
    statement, moments = fill(connection.vendor)
    params = [connection.ops.adapt_datetimefield_value(moment) for moment in moments]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    install(schema_editor)


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    uninstall(schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DELETE FROM tasks_metricbin")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0020_bulk_job")]

    operations = [
        migrations.CreateModel(
            name="MetricBin",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("resolution", models.PositiveIntegerField()),
                ("start", models.DateTimeField()),
                ("kind", models.PositiveSmallIntegerField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("SCHEDULED", "scheduled"),
                            ("PENDING", "pending"),
                            ("STARTED", "running"),
                            ("RETRY", "retrying"),
                            ("SUCCESS", "succeeded"),
                            ("FAILURE", "failed"),
                            ("REVOKED", "cancelled"),
                        ],
                        max_length=9,
                    ),
                ),
                ("measure", models.CharField(max_length=1)),
                ("bin", models.SmallIntegerField()),
                ("count", models.BigIntegerField(default=0)),
                ("total", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("resolution", "kind", "start", "status", "measure", "bin"),
                        name="metric_bin_unique",
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
