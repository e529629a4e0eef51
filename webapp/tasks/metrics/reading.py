"""Metrics per task kind and per queue, read from the MetricBin rollup: throughput,
failure rate and p50/p95/p99 of queue wait and of run time over the last hour, day
or week, with the geometry of their SVG charts; each kind's usual run time for the
table's "slower than usual" mark; pruning of the buckets no view reads any more."""

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from webapp.tasks.catalogue.kinds import Kind, kinds_of, queue_names
from webapp.tasks.metrics import histogram
from webapp.tasks.models import FINISHED_STATUSES, MetricBin, Status

# A window: the resolution its buckets have, and how many of them it shows.
WINDOWS: dict[str, tuple[int, int]] = {
    "hour": (MetricBin.MINUTE, 60),
    "day": (MetricBin.HOUR, 24),
    "week": (MetricBin.HOUR, 7 * 24),
}
DEFAULT_WINDOW = "day"
# How long each resolution's buckets are kept (apply_retention prunes the rest).
KEEP = {MetricBin.MINUTE: timedelta(hours=2), MetricBin.HOUR: timedelta(days=8)}
PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
OTHER = "other"  # the name foreign tasks' metrics go by (their kind is ELSEWHERE)


@dataclass(frozen=True)
class Subject:
    """What a metrics page is about: a kind, or a queue (the kinds published to it)."""

    what: str  # "kind" or "queue"
    name: str
    kinds: tuple[int, ...]

    @property
    def title(self) -> str:
        if self.what == "queue":
            return f"Queue {self.name}"
        if self.name == OTHER:
            return "Tasks published elsewhere"
        return Kind(self.kinds[0]).title

    @property
    def queue(self) -> str | None:
        if self.what == "queue":
            return self.name
        return None if self.name == OTHER else Kind(self.kinds[0]).queue


def kind_subject(name: str) -> Subject | None:
    if name == OTHER:
        return Subject("kind", OTHER, (MetricBin.ELSEWHERE,))
    kind = next((k for k in Kind if k.label == name), None)
    return None if kind is None else Subject("kind", kind.label, (int(kind),))


def queue_subject(name: str) -> Subject | None:
    if name not in queue_names():
        return None
    return Subject("queue", name, tuple(int(kind) for kind in kinds_of(name)))


def all_subjects() -> list[Subject]:
    kinds = [Subject("kind", kind.label, (int(kind),)) for kind in Kind]
    kinds.append(Subject("kind", OTHER, (MetricBin.ELSEWHERE,)))
    return kinds + [s for name in queue_names() if (s := queue_subject(name))]


Histogram = dict[int, int]


@dataclass
class Tally:
    """What finished in some span: how many per outcome, and the wait and run time
    histograms (bin -> count) of those that started, with their sums (µs)."""

    finished: dict[str, int] = field(default_factory=dict)
    wait: Histogram = field(default_factory=dict)
    run: Histogram = field(default_factory=dict)
    wait_total: int = 0
    run_total: int = 0

    def add(self, status: str, measure: str, bin_number: int, count: int, total: int) -> None:
        if measure == MetricBin.RUN:  # every finished task has one run row (maybe NONE)
            self.finished[status] = self.finished.get(status, 0) + count
        counts = self.run if measure == MetricBin.RUN else self.wait
        if bin_number != MetricBin.NONE:
            counts[bin_number] = counts.get(bin_number, 0) + count
            if measure == MetricBin.RUN:
                self.run_total += total
            else:
                self.wait_total += total

    @property
    def count(self) -> int:
        return sum(self.finished.values())

    @property
    def failure_rate(self) -> float | None:
        return self.finished.get(Status.FAILURE, 0) / self.count if self.count else None

    def percentiles(self, measure: str) -> dict[str, float | None]:
        counts = self.run if measure == MetricBin.RUN else self.wait
        return {name: histogram.percentile(counts, q) for name, q in PERCENTILES}

    def as_json(self) -> dict[str, Any]:
        return {
            "finished": self.count,
            "by_outcome": {status: self.finished.get(status, 0) for status in FINISHED_STATUSES},
            "failure_rate": _rounded(self.failure_rate, 4),
            "queue_wait_seconds": _all_rounded(self.percentiles(MetricBin.WAIT)),
            "run_time_seconds": _all_rounded(self.percentiles(MetricBin.RUN)),
        }


def window_start(window: str, now: datetime) -> datetime:
    """The first bucket of the window: the last one is now's (minute or hour)."""
    resolution, buckets = WINDOWS[window]
    current = now.replace(second=0, microsecond=0)
    if resolution == MetricBin.HOUR:
        current = current.replace(minute=0)
    return current - timedelta(seconds=resolution * (buckets - 1))


@dataclass
class Report:
    subject: Subject
    window: str
    start: datetime
    end: datetime
    resolution: int
    buckets: list[Tally]  # one per bucket of the window, oldest first
    whole: Tally  # the window's buckets added up

    def bucket_start(self, index: int) -> datetime:
        return self.start + timedelta(seconds=self.resolution * index)

    @property
    def throughput(self) -> float:
        """Tasks finished per minute, over the window so far."""
        minutes = max(1.0, (self.end - self.start).total_seconds() / 60)
        return self.whole.count / minutes

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.subject.what,
            "name": self.subject.name,
            "queue": self.subject.queue,
            "window": self.window,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "resolution_seconds": self.resolution,
            "relative_error": histogram.RELATIVE_ERROR,
            "throughput_per_minute": round(self.throughput, 3),
            **self.whole.as_json(),
            "buckets": [
                {"start": self.bucket_start(i).isoformat(), **tally.as_json()}
                for i, tally in enumerate(self.buckets)
                if tally.count
            ],
        }


def report(subject: Subject, window: str, now: datetime | None = None) -> Report:
    """The subject's metrics over the window: one query, at most a row per bucket,
    outcome, measure and bin of its kinds, however many tasks finished."""
    now = now or timezone.now()
    resolution, count = WINDOWS[window]
    start = window_start(window, now)
    rows = (
        MetricBin.objects.filter(resolution=resolution, kind__in=subject.kinds, start__gte=start)
        .values_list("start", "status", "measure", "bin")
        .annotate(n=Sum("count"), total=Sum("total"))
        .values_list("start", "status", "measure", "bin", "n", "total")
    )
    buckets = [Tally() for _ in range(count)]
    whole = Tally()
    for bucket_start, status, measure, bin_number, n, total in rows:
        index = int((bucket_start - start).total_seconds() // resolution)
        if 0 <= index < count:
            buckets[index].add(status, measure, bin_number, n, total)
            whole.add(status, measure, bin_number, n, total)
    return Report(subject, window, start, now, resolution, buckets, whole)


def overview(window: str, now: datetime | None = None) -> list[tuple[Subject, Tally]]:
    """Every kind and queue over the window, summed: one query grouped by kind."""
    now = now or timezone.now()
    resolution, _ = WINDOWS[window]
    rows = (
        MetricBin.objects.filter(resolution=resolution, start__gte=window_start(window, now))
        .values_list("kind", "status", "measure", "bin")
        .annotate(n=Sum("count"), total=Sum("total"))
        .values_list("kind", "status", "measure", "bin", "n", "total")
    )
    per_kind: dict[int, Tally] = {}
    for kind, status, measure, bin_number, n, total in rows:
        per_kind.setdefault(kind, Tally()).add(status, measure, bin_number, n, total)
    out = []
    for subject in all_subjects():
        tally = Tally()
        for kind in subject.kinds:
            if (kept := per_kind.get(kind)) is not None:
                for status, n in kept.finished.items():
                    tally.finished[status] = tally.finished.get(status, 0) + n
                tally.wait = histogram.merged([tally.wait, kept.wait])
                tally.run = histogram.merged([tally.run, kept.run])
                tally.wait_total += kept.wait_total
                tally.run_total += kept.run_total
        out.append((subject, tally))
    return out


def all_time() -> dict[int, Tally]:
    """Every kind's tally since the rollup began (Prometheus' counters)."""
    rows = MetricBin.objects.filter(resolution=MetricBin.ALL_TIME).values_list(
        "kind", "status", "measure", "bin", "count", "total"
    )
    per_kind: dict[int, Tally] = {}
    for kind, status, measure, bin_number, n, total in rows:
        per_kind.setdefault(kind, Tally()).add(status, measure, bin_number, n, total)
    return per_kind


def prune(now: datetime | None = None) -> int:
    """Delete the minute and hour buckets older than any window reads (KEEP)."""
    now = now or timezone.now()
    deleted = 0
    for resolution, kept in KEEP.items():
        old = MetricBin.objects.filter(resolution=resolution, start__lt=now - kept)
        deleted += old._raw_delete(old.db)
    return deleted


# --- Slower than usual ---------------------------------------------------------------
# A running task is slower than usual once it has run longer than its kind's p95 run
# time of the last day's successful tasks. Those are read once per process every
# USUAL_SECONDS (one query over at most 24 hours, kinds and bins), never per row, and
# only when some running task is on show.

USUAL_SECONDS = 60
USUAL_WINDOW = "day"
USUAL_MIN_SAMPLE = 20  # fewer successes than this say nothing about "usual"
_usual: tuple[float, dict[int, float]] | None = None
_usual_lock = threading.Lock()


def usual_run_times() -> dict[int, float]:
    """Each kind's p95 run time (seconds) over the last day's successes, for kinds
    with at least USUAL_MIN_SAMPLE of them; kept in this process for USUAL_SECONDS."""
    global _usual
    with _usual_lock:
        if _usual is not None and time.monotonic() - _usual[0] < USUAL_SECONDS:
            return _usual[1]
    start = window_start(USUAL_WINDOW, timezone.now())
    rows = (
        MetricBin.objects.filter(
            resolution=WINDOWS[USUAL_WINDOW][0],
            start__gte=start,
            status=Status.SUCCESS,
            measure=MetricBin.RUN,
        )
        .exclude(bin=MetricBin.NONE)
        .values_list("kind", "bin")
        .annotate(n=Sum("count"))
        .values_list("kind", "bin", "n")
    )
    per_kind: dict[int, Histogram] = {}
    for kind, bin_number, n in rows:
        per_kind.setdefault(kind, {})[bin_number] = n
    usual = {
        kind: p95
        for kind, counts in per_kind.items()
        if sum(counts.values()) >= USUAL_MIN_SAMPLE
        and (p95 := histogram.percentile(counts, 0.95)) is not None
    }
    with _usual_lock:
        _usual = (time.monotonic(), usual)
    return usual


def forget_usual_run_times() -> None:
    global _usual
    with _usual_lock:
        _usual = None


def slower_than_usual(
    rows: Sequence[tuple[int, str, int | None, datetime | None]], now: datetime
) -> dict[int, float]:
    """Of (id, status, kind, started_at) rows, the running ones that have run longer
    than their kind's usual p95: id -> that p95 in seconds. No query unless some row
    is running (and then at most one a minute, per process)."""
    running = [row for row in rows if row[1] == Status.STARTED and row[3] is not None]
    if not running:
        return {}
    usual = usual_run_times()
    slow = {}
    for pk, _, kind, started_at in running:
        p95 = usual.get(MetricBin.ELSEWHERE if kind is None else kind)
        if p95 is not None and started_at is not None and (now - started_at).total_seconds() > p95:
            slow[pk] = p95
    return slow


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _all_rounded(values: dict[str, float | None]) -> dict[str, float | None]:
    return {name: _rounded(value) for name, value in values.items()}
