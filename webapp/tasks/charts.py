"""Server-rendered SVG charts: the numbers and bar geometry; the template draws them."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMinute
from django.utils import timezone

from webapp.tasks.kinds import Kind
from webapp.tasks.models import FINISHED_STATUSES, Status, TaskRecord

WIDTH, HEIGHT = 600, 160  # viewBox of the throughput chart
MINUTES = 60


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str


@dataclass(frozen=True)
class Throughput:
    bars: list[Bar]
    peak: int
    totals: dict[str, int]  # outcome label -> tasks finished in the hour
    start: datetime
    end: datetime

    @property
    def summary(self) -> str:
        parts = ", ".join(f"{n} {label}" for label, n in self.totals.items())
        return (
            f"In the last hour: {parts}." if self.totals else "No task finished in the last hour."
        )


@dataclass(frozen=True)
class KindTime:
    label: str
    mean: float
    count: int
    y: float
    text_y: float
    width: float
    value_x: float


@dataclass(frozen=True)
class RunTimes:
    rows: list[KindTime]
    height: int
    bar_x: int = 100
    bar_height: int = 16

    @property
    def summary(self) -> str:
        if not self.rows:
            return "No task succeeded in the last hour."
        return "; ".join(f"{r.label} {r.mean:.1f} s" for r in self.rows) + "."


ROW_HEIGHT, BAR_X, BAR_MAX = 24, 100, 420


def run_time_per_kind(tasks: QuerySet[TaskRecord], now: datetime | None = None) -> RunTimes:
    """Mean run time of each kind over `tasks` that succeeded in the last hour."""
    since = (now or timezone.now()) - timedelta(minutes=MINUTES)
    times: dict[int, list[float]] = {}
    # No ORDER BY: the default newest-first order would tempt SQLite into walking the
    # whole table backwards instead of the (status, finished_at) range.
    rows = (
        tasks.filter(finished_at__gte=since, status=Status.SUCCESS, started_at__isnull=False)
        .order_by()
        .values_list("kind", "started_at", "finished_at")
    )
    for kind, started, finished in rows:
        if started and finished:
            times.setdefault(kind, []).append((finished - started).total_seconds())
    means = {kind: sum(t) / len(t) for kind, t in times.items()}
    longest = max(means.values(), default=0) or 1
    bars = []
    for index, kind in enumerate(sorted(means)):
        width = round(max(1.0, BAR_MAX * means[kind] / longest), 1)
        bars.append(
            KindTime(
                label=Kind(kind).label,
                mean=means[kind],
                count=len(times[kind]),
                y=index * ROW_HEIGHT + 4,
                text_y=index * ROW_HEIGHT + 17,
                width=width,
                value_x=BAR_X + width + 6,
            )
        )
    return RunTimes(rows=bars, height=max(1, len(bars)) * ROW_HEIGHT + 4, bar_x=BAR_X)


def throughput(tasks: QuerySet[TaskRecord], now: datetime | None = None) -> Throughput:
    """`tasks` finished per minute over the last hour, stacked by outcome."""
    now = now or timezone.now()
    start = (now - timedelta(minutes=MINUTES - 1)).replace(second=0, microsecond=0)
    rows = (
        tasks.filter(finished_at__gte=start, status__in=FINISHED_STATUSES)
        .annotate(minute=TruncMinute("finished_at"))
        .values_list("minute", "status")
        .annotate(n=Count("id"))
    )
    per_minute: dict[int, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for minute, status, n in rows:
        index = int((minute - start).total_seconds() // 60)
        if 0 <= index < MINUTES:
            per_minute.setdefault(index, {})[status] = n
            label = Status(status).label
            totals[label] = totals.get(label, 0) + n
    peak = max((sum(v.values()) for v in per_minute.values()), default=0)
    slot = WIDTH / MINUTES
    bars = []
    for index, by_status in sorted(per_minute.items()):
        y = float(HEIGHT)
        for status in FINISHED_STATUSES:
            n = by_status.get(status, 0)
            if not n:
                continue
            height = HEIGHT * n / peak
            y -= height
            minute_label = (start + timedelta(minutes=index)).strftime("%H:%M")
            bars.append(
                Bar(
                    x=round(index * slot + 1, 2),
                    y=round(y, 2),
                    width=round(slot - 2, 2),
                    height=round(height, 2),
                    css=f"bar-{status.lower()}",
                    label=f"{minute_label}: {n} {Status(status).label}",
                )
            )
    return Throughput(bars=bars, peak=peak, totals=totals, start=start, end=now)
