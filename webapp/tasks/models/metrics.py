"""The metrics rollup: queue waits and run times in histogram bins, kept by triggers."""

from datetime import UTC, datetime

from django.db import models

from webapp.tasks.models.record import Status


class MetricBin(models.Model):
    """Finished tasks of one kind and outcome in one time bucket, whose queue wait (or
    run time) fell in one histogram bin: how many, and the sum of those times. Kept by
    the triggers of migration 0021 as each task finishes (never by reading the
    history), read by metrics/reading.py for percentiles, charts and GET /metrics.

    Three resolutions: minutes (the hour view), hours (the day and week views) and all
    time (Prometheus' counters, which must only grow). A task counts when it finishes;
    deleting it later (clearing, retention) does not take it back out: these are what
    happened, not what the history still holds."""

    # Resolutions, in seconds; ALL_TIME's rows all start at EPOCH.
    ALL_TIME, MINUTE, HOUR = 0, 60, 3600
    EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
    WAIT, RUN = "W", "R"  # started - queued since; finished - started
    NONE = -1  # the bin of a task that never started: counted, with no time
    ELSEWHERE = 32767  # foreign tasks' kind, as in FinishedMinute

    resolution = models.PositiveIntegerField()
    start = models.DateTimeField()
    kind = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=9, choices=Status.choices)
    measure = models.CharField(max_length=1)
    bin = models.SmallIntegerField()
    count = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)  # microseconds, summed over the bin

    class Meta:
        constraints = [
            # The triggers' upsert key; a kind's page reads a range of it.
            models.UniqueConstraint(
                fields=["resolution", "kind", "start", "status", "measure", "bin"],
                name="metric_bin_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resolution}s {self.start:%Y-%m-%d %H:%M} kind {self.kind} {self.status}"
