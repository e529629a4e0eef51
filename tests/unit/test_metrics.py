"""The metrics rollup (migration 0021) as tasks finish, and the percentiles read from
it against values computed by hand from known run times. Also passes on PostgreSQL
(DATABASE_URL pointing at a server), like test_rollups.py."""

import importlib
import math
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.metrics import histogram, reading
from webapp.tasks.models import MetricBin, Status, TaskRecord
from webapp.tasks.running import retention

pytestmark = pytest.mark.django_db


def nearest_rank(values: list[float], fraction: float) -> float:
    """The textbook percentile: the k-th smallest, k = ceil(fraction * n)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def finish(kind: Kind, waited: float, ran: float, status: str = Status.SUCCESS) -> None:
    """A task through the normal write path, then its times moved to known values:
    submitted, started `waited` s later, finished `ran` s after that."""
    record = TaskRecord.submit(kind)
    task_id = str(record.task_id)
    TaskRecord.mark_started(task_id, worker="w1", instance="i1")
    now = timezone.now()
    TaskRecord.objects.filter(task_id=task_id).update(
        submitted_at=now - timedelta(seconds=waited + ran), started_at=now - timedelta(seconds=ran)
    )
    if status == Status.SUCCESS:
        TaskRecord.mark_succeeded(task_id, {"ok": True})
    else:
        TaskRecord.mark_failed(task_id, "boom")


def test_bins_are_at_most_a_sixteenth_of_their_lower_bound_wide() -> None:
    for micros in [0, 1, 31, 32, 33, 63, 64, 1000, 123_456, 10**9, 2**40 + 5]:
        lower, upper = histogram.bounds(histogram.bin_of(micros))
        assert lower <= micros < upper
        assert upper - lower <= max(1, lower * histogram.RELATIVE_ERROR)


def test_each_finished_task_lands_in_the_bins_the_python_side_computes() -> None:
    finish(Kind.SHORT, waited=0.25, ran=3.5)
    record = TaskRecord.objects.get()
    assert record.run_time is not None
    assert record.started_at is not None
    run_us = record.run_time // timedelta(microseconds=1)
    wait_us = (record.started_at - record.submitted_at) // timedelta(microseconds=1)
    rows = set(
        MetricBin.objects.filter(resolution=MetricBin.MINUTE).values_list("measure", "bin", "count")
    )
    # (SQLite's julianday() can be a few microseconds off: same bin or the next.)
    wait_bins = {histogram.bin_of(wait_us + d) for d in (-50, 0, 50)}
    assert (MetricBin.RUN, histogram.bin_of(run_us), 1) in rows
    assert any((MetricBin.WAIT, b, 1) in rows for b in wait_bins)
    # One task, six rows: wait and run in its minute, its hour and all time.
    assert MetricBin.objects.count() == 6
    assert set(MetricBin.objects.values_list("resolution", flat=True)) == {0, 60, 3600}


def test_percentiles_match_the_hand_computed_ones_within_the_bin_error() -> None:
    # 100 tasks: run times 1 s .. 100 s, waits 0.1 s .. 10 s; five of them failed.
    runs = [float(i) for i in range(1, 101)]
    waits = [i / 10 for i in range(1, 101)]
    for i, (waited, ran) in enumerate(zip(waits, runs, strict=True)):
        finish(Kind.MEDIUM, waited, ran, Status.FAILURE if i % 20 == 0 else Status.SUCCESS)

    tally = reading.report(reading.kind_subject("medium"), "hour").whole  # type: ignore[arg-type]

    assert tally.count == 100
    assert tally.finished == {Status.SUCCESS: 95, Status.FAILURE: 5}
    assert tally.failure_rate == pytest.approx(0.05)
    for measure, values in ((MetricBin.RUN, runs), (MetricBin.WAIT, waits)):
        got = tally.percentiles(measure)
        for name, fraction in reading.PERCENTILES:
            expected = nearest_rank(values, fraction)  # 50, 95, 99 (s); 5, 9.5, 9.9 (s)
            assert got[name] == pytest.approx(expected, rel=histogram.RELATIVE_ERROR), (
                measure,
                name,
            )


def test_a_queue_adds_up_its_kinds_and_other_queues_see_none_of_them() -> None:
    finish(Kind.SHORT, 0.1, 1.0)
    finish(Kind.MEDIUM, 0.1, 2.0)
    finish(Kind.CPU, 0.1, 3.0, Status.FAILURE)
    default = reading.report(reading.queue_subject("default"), "day").whole  # type: ignore[arg-type]
    cpu = reading.report(reading.queue_subject("cpu"), "day").whole  # type: ignore[arg-type]
    assert default.finished == {Status.SUCCESS: 2}
    assert cpu.finished == {Status.FAILURE: 1}


def test_a_task_cancelled_before_it_started_counts_with_no_time() -> None:
    record = TaskRecord.submit(Kind.LONG)
    TaskRecord.mark_cancelled(str(record.task_id), "by test")
    tally = reading.report(reading.kind_subject("long"), "week").whole  # type: ignore[arg-type]
    assert tally.finished == {Status.REVOKED: 1}
    assert tally.percentiles(MetricBin.RUN) == {"p50": None, "p95": None, "p99": None}


def test_deleting_finished_tasks_leaves_what_happened_counted() -> None:
    finish(Kind.SHORT, 0.1, 1.0)
    TaskRecord.objects.all().delete()
    assert reading.report(reading.kind_subject("short"), "hour").whole.count == 1  # type: ignore[arg-type]


def test_only_the_change_into_a_finished_status_counts() -> None:
    finish(Kind.SHORT, 0.1, 1.0)
    # Later writes to the finished row (the admin, a bulk edit) count nothing again.
    TaskRecord.objects.update(progress=100, updated_at=timezone.now())
    TaskRecord.objects.update(status=Status.FAILURE)
    tally = reading.report(reading.kind_subject("short"), "hour").whole  # type: ignore[arg-type]
    assert tally.finished == {Status.SUCCESS: 1}


def test_retention_prunes_buckets_older_than_any_window_reads() -> None:
    finish(Kind.SHORT, 0.1, 1.0)
    later = timezone.now() + timedelta(days=9)
    retention.apply_retention(now=later)
    assert set(MetricBin.objects.values_list("resolution", flat=True)) == {MetricBin.ALL_TIME}


def test_a_running_task_past_its_kinds_p95_is_slower_than_usual() -> None:
    for ran in range(1, 21):  # twenty short tasks of 1 .. 20 s: p95 about 19 s
        finish(Kind.SHORT, 0.1, float(ran))
    reading.forget_usual_run_times()
    now = timezone.now()
    rows = [
        (1, Status.STARTED, int(Kind.SHORT), now - timedelta(seconds=25)),
        (2, Status.STARTED, int(Kind.SHORT), now - timedelta(seconds=5)),
        (3, Status.SUCCESS, int(Kind.SHORT), now - timedelta(seconds=60)),
        (4, Status.STARTED, int(Kind.LONG), now - timedelta(seconds=600)),  # no sample
    ]
    slow = reading.slower_than_usual(rows, now)
    assert list(slow) == [1]
    assert slow[1] == pytest.approx(19.0, rel=histogram.RELATIVE_ERROR)


def test_too_few_successes_say_nothing_about_usual() -> None:
    for ran in range(1, 10):
        finish(Kind.SHORT, 0.1, float(ran))
    reading.forget_usual_run_times()
    now = timezone.now()
    assert reading.slower_than_usual([(1, Status.STARTED, 1, now - timedelta(hours=1))], now) == {}


def test_the_migration_counts_finished_tasks_already_there_as_the_triggers_do() -> None:
    for ran in (0.5, 2.0, 30.0):
        finish(Kind.SHORT, 0.2, ran)
    finish(Kind.FAILING, 1.0, 3.0, Status.FAILURE)
    columns = ("resolution", "start", "kind", "status", "measure", "bin", "count", "total")
    by_triggers = set(MetricBin.objects.values_list(*columns))
    rollup = importlib.import_module("webapp.tasks.migrations.0021_metrics")
    editor = SimpleNamespace(connection=connection)  # the functions read only .connection

    rollup.drop_triggers(None, editor)
    assert not MetricBin.objects.exists()
    rollup.create_triggers(None, editor)

    assert set(MetricBin.objects.values_list(*columns)) == by_triggers
    finish(Kind.SHORT, 0.2, 1.0)  # and the triggers count again
    assert reading.report(reading.kind_subject("short"), "hour").whole.count == 4  # type: ignore[arg-type]
