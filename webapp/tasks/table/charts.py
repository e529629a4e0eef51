"""Server-rendered SVG charts: the numbers and bar geometry; the template draws them."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from webapp.tasks.access import finished_minutes_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import FINISHED_STATUSES, FinishedMinute, Status

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


def hour_start(now: datetime) -> datetime:
    """The first of the charts' MINUTES whole minutes, the last being now's."""
    return (now - timedelta(minutes=MINUTES - 1)).replace(second=0, microsecond=0)


def run_time_per_kind(owner: int | None, now: datetime | None = None) -> RunTimes:
    """Mean run time of each kind over the owner scope's tasks that succeeded in the
    charts' hour, from the per-minute rollup (at most a row per minute and kind)."""
    start = hour_start(now or timezone.now())
    rows = (
        finished_minutes_of(owner)
        .filter(minute__gte=start, status=Status.SUCCESS)
        .values_list("kind")
        .annotate(timed=Sum("timed"), total=Sum("run_time"))
        .values_list("kind", "timed", "total")
    )
    means: dict[int, float] = {}
    counts: dict[int, int] = {}
    for kind, timed, total in rows:
        if timed:
            means[kind] = total.total_seconds() / timed
            counts[kind] = timed
    longest = max(means.values(), default=0) or 1
    bars = []
    for index, kind in enumerate(sorted(means)):
        width = round(max(1.0, BAR_MAX * means[kind] / longest), 1)
        bars.append(
            KindTime(
                # Tasks published outside the dashboard share one bar (migration 0016).
                label="other" if kind == FinishedMinute.ELSEWHERE else Kind(kind).label,
                mean=means[kind],
                count=counts[kind],
                y=index * ROW_HEIGHT + 4,
                text_y=index * ROW_HEIGHT + 17,
                width=width,
                value_x=BAR_X + width + 6,
            )
        )
    return RunTimes(rows=bars, height=max(1, len(bars)) * ROW_HEIGHT + 4, bar_x=BAR_X)


def throughput(owner: int | None, now: datetime | None = None) -> Throughput:
    """The owner scope's tasks finished per minute over the charts' hour, stacked by
    outcome, from the per-minute rollup (at most a row per minute, kind and outcome)."""
    now = now or timezone.now()
    start = hour_start(now)
    rows = (
        finished_minutes_of(owner)
        .filter(minute__gte=start, status__in=FINISHED_STATUSES)
        .values_list("minute", "status")
        .annotate(n=Sum("count"))
        .values_list("minute", "status", "n")
    )
    per_minute: dict[int, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for minute, status, n in rows:
        if not n:
            continue
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
