"""The metrics pages' SVG charts: numbers and geometry; templates/metrics.html draws
them, with colours from the stylesheet (light and dark) and a text alternative."""

from dataclasses import dataclass

from webapp.tasks.metrics.reading import PERCENTILES, Report
from webapp.tasks.models import FINISHED_STATUSES, MetricBin, Status
from webapp.tasks.table.charts import Bar  # one bar, whichever chart

WIDTH, HEIGHT = 600, 160  # the plot area inside each chart's viewBox (600 x 180)


@dataclass(frozen=True)
class Line:
    name: str  # p50, p95, p99
    css: str
    points: str  # an SVG polyline's points
    dots: list[tuple[float, float, str]]  # x, y, what it says


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    lines: list[Line]
    top: str  # the value at the top of the plot, as text
    summary: str  # the text alternative


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _slot(report: Report) -> float:
    return WIDTH / len(report.buckets)


def _when(report: Report, index: int) -> str:
    moment = report.bucket_start(index)
    return moment.strftime("%H:%M" if report.resolution == MetricBin.MINUTE else "%a %H:00")


def throughput(report: Report) -> Chart:
    """Tasks finished per bucket, stacked by outcome."""
    peak = max((tally.count for tally in report.buckets), default=0)
    slot = _slot(report)
    bars = []
    for index, tally in enumerate(report.buckets):
        y = float(HEIGHT)
        for status in FINISHED_STATUSES:
            n = tally.finished.get(status, 0)
            if not n:
                continue
            height = HEIGHT * n / peak
            y -= height
            bars.append(
                Bar(
                    x=round(index * slot + slot * 0.1, 2),
                    y=round(y, 2),
                    width=round(max(slot * 0.8, 0.5), 2),
                    height=round(height, 2),
                    css=f"bar-{status.lower()}",
                    label=f"{_when(report, index)}: {n} {Status(status).label}",
                )
            )
    whole = report.whole
    if whole.count:
        parts = ", ".join(
            f"{whole.finished.get(s, 0)} {Status(s).label}" for s in FINISHED_STATUSES
        )
        rate = whole.failure_rate or 0
        summary = (
            f"{whole.count} finished in the last {report.window} ({parts}); "
            f"{report.throughput:.2f} per minute; {rate:.1%} failed."
        )
    else:
        summary = f"No task finished in the last {report.window}."
    unit = "min" if report.resolution == MetricBin.MINUTE else "h"
    return Chart(bars=bars, lines=[], top=f"{peak}/{unit}" if peak else "", summary=summary)


def percentiles(report: Report, measure: str) -> Chart:
    """p50, p95 and p99 per bucket, as three lines (told apart by dash, not colour
    alone), on a scale from zero to the largest p99."""
    per_bucket = [tally.percentiles(measure) for tally in report.buckets]
    top = max((v for p in per_bucket for v in p.values() if v is not None), default=0.0)
    slot = _slot(report)
    lines = []
    for name, _ in PERCENTILES:
        points, dots = [], []
        for index, values in enumerate(per_bucket):
            value = values[name]
            if value is None:
                continue
            x = round(index * slot + slot / 2, 2)
            y = round(HEIGHT - HEIGHT * value / top, 2) if top else float(HEIGHT)
            points.append(f"{x},{y}")
            dots.append((x, y, f"{_when(report, index)}: {name} {seconds_text(value)}"))
        lines.append(Line(name=name, css=f"line-{name}", points=" ".join(points), dots=dots))
    whole = report.whole.percentiles(measure)
    what = "queue wait" if measure == MetricBin.WAIT else "run time"
    if any(v is not None for v in whole.values()):
        summary = f"Over the last {report.window}, {what}: " + ", ".join(
            f"{name} {seconds_text(value)}" for name, value in whole.items()
        )
        summary += "."
    else:
        summary = f"No {what} to show for the last {report.window}."
    return Chart(bars=[], lines=lines, top=seconds_text(top) if top else "", summary=summary)
