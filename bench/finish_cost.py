"""What the metrics rollup adds to a task's writes: the worker's two commits of an
instant task (TaskRecord.run_at_once, then nothing else) and a 20-step task's start,
steps and finish, timed with migration 0021's triggers and without them, in
interleaved rounds on one SQLite file in WAL mode (as `make run`), and on PostgreSQL
when DATABASE_URL names one. Prints the medians and their ratio, and on SQLite the
virtual-machine steps per task too, which do not depend on the machine's load.

    .venv/bin/python -m bench.finish_cost [ROUNDS] [TASKS_PER_ROUND]
"""

import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
TASKS = int(sys.argv[2]) if len(sys.argv) > 2 else 200


def main() -> None:
    if "DATABASE_URL" not in os.environ:
        folder = Path(tempfile.mkdtemp(prefix="finish-cost-"))
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from webapp.tasks.catalogue.kinds import Kind
    from webapp.tasks.models import TaskRecord

    call_command("migrate", verbosity=0)
    rollup = importlib.import_module("webapp.tasks.migrations.0021_metrics")
    vendor = connection.vendor

    def triggers(on: bool) -> None:
        with connection.cursor() as cursor:
            for statement in rollup.DROP[vendor]:
                cursor.execute(statement)
            if on:
                made = rollup.sqlite_triggers() if vendor == "sqlite" else None
                for statement in made or rollup.postgresql_triggers():
                    cursor.execute(statement)

    def instant_tasks() -> float:
        ids = [str(TaskRecord.submit(Kind.INSTANT).task_id) for _ in range(TASKS)]
        started = time.perf_counter()
        for task_id in ids:
            TaskRecord.run_at_once(task_id, "w1", "i1", lambda: {"ok": True})
        return (time.perf_counter() - started) / TASKS

    def stepped_tasks() -> float:
        ids = [str(TaskRecord.submit(Kind.SHORT).task_id) for _ in range(TASKS // 4)]
        started = time.perf_counter()
        for task_id in ids:
            TaskRecord.mark_started(task_id, "w1", "i1")
            for step in range(1, 21):
                TaskRecord.report_progress(task_id, step * 5)
            TaskRecord.mark_succeeded(task_id, {"ok": True})
        return (time.perf_counter() - started) / len(ids)

    def steps_of(measure: object) -> float:
        """SQLite VM steps per task (a progress handler called every step)."""
        calls = [0]

        def tick() -> int:
            calls[0] += 1
            return 0

        connection.ensure_connection()
        raw = connection.connection
        raw.set_progress_handler(tick, 1)
        try:
            measure()  # type: ignore[operator]
        finally:
            raw.set_progress_handler(None, 1)
        return calls[0] / (TASKS if measure is instant_tasks else TASKS // 4)

    results: dict[tuple[str, bool], list[float]] = {}
    for _ in range(ROUNDS):
        for on in (False, True):  # interleaved: the machine's load hits both alike
            triggers(on)
            for name, measure in (("instant", instant_tasks), ("20 steps", stepped_tasks)):
                results.setdefault((name, on), []).append(measure())
    steps = {}
    if vendor == "sqlite":
        for on in (False, True):
            triggers(on)
            for name, measure in (("instant", instant_tasks), ("20 steps", stepped_tasks)):
                steps[(name, on)] = steps_of(measure)
    triggers(True)
    for name in ("instant", "20 steps") if steps else ():
        without, with_ = steps[(name, False)], steps[(name, True)]
        print(f"  {name:9} SQLite VM steps per task: {without:.0f} without, {with_:.0f} with")
    print(f"{vendor}, {ROUNDS} rounds, median per task (worker side):")
    for name in ("instant", "20 steps"):
        without = statistics.median(results[(name, False)]) * 1000
        with_ = statistics.median(results[(name, True)]) * 1000
        print(f"  {name:9} without {without:.3f} ms, with {with_:.3f} ms: {with_ / without:.2f}x")


if __name__ == "__main__":
    main()
