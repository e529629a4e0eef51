"""GET /metrics: the task system in Prometheus' text exposition format (0.0.4), for
scrapers, behind a bearer token (BearerTokenMiddleware authenticates it).

Tasks per status and each queue's depth are gauges; tasks finished per kind and
outcome, and the queue-wait and run-time histograms per kind, are counters since the
rollup began (MetricBin's all-time rows: nothing pruned, nothing taken back by a
delete), so rate() and histogram_quantile() work on them as on any exporter's."""

from django.http import HttpRequest, HttpResponse

from webapp.tasks.access.roles import may, refusal
from webapp.tasks.access.scope import status_counts_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.metrics import reading
from webapp.tasks.metrics.histogram import cumulative_at
from webapp.tasks.models import FINISHED_STATUSES, MetricBin, WorkerStatus
from webapp.tasks.running import queues
from webapp.tasks.web.metrics_views import SEES_METRICS
from webapp.tasks.web.representations import error_response, negotiated

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "taskdash"
# The `le` bounds: powers of two in microseconds (bounds of the rollup's own bins, so
# each bucket's count is exact), 1.024 ms to about 38 hours.
LE_MICROS = [2**e for e in range(10, 38)]
SCRAPE_REFUSED = "GET /metrics needs `Authorization: Bearer <token>` (manage.py create_token)."


@negotiated("GET")
def scrape(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        response = error_response(request, 401, SCRAPE_REFUSED)
        response["WWW-Authenticate"] = "Bearer"
        return response
    if not may(request, SEES_METRICS):
        return refusal(request, SEES_METRICS)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)


def _labels(**labels: str) -> str:
    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{escaped(v)}"' for k, v in labels.items()) + "}"


def _kind_labels(kind: int) -> dict[str, str]:
    if kind == MetricBin.ELSEWHERE:
        return {"kind": reading.OTHER, "queue": ""}
    if kind in Kind.values:
        return {"kind": Kind(kind).label, "queue": Kind(kind).queue}
    return {"kind": str(kind), "queue": ""}


def exposition() -> str:
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> str:
        full = f"{PREFIX}_{name}"
        lines.append(f"# HELP {full} {help_text}")
        lines.append(f"# TYPE {full} {kind}")
        return full

    name = family("tasks", "gauge", "Tasks in the history, by status.")
    for status, count in status_counts_of(None).items():
        lines.append(f"{name}{_labels(status=status)} {count}")

    name = family("queue_depth", "gauge", "Messages waiting in each queue (Redis).")
    for queue in queues.overview(None, WorkerStatus.online(), with_oldest=False):
        if queue.waiting is not None:  # Redis did not answer: no sample, not a zero
            lines.append(f"{name}{_labels(queue=queue.name)} {queue.waiting}")

    tallies = sorted(reading.all_time().items())
    name = family("tasks_finished_total", "counter", "Tasks finished, by kind and outcome.")
    for kind, tally in tallies:
        for status in FINISHED_STATUSES:
            if n := tally.finished.get(status, 0):
                lines.append(f"{name}{_labels(**_kind_labels(kind), outcome=status)} {n}")

    for measure, short, what in (
        (MetricBin.WAIT, "queue_wait_seconds", "From submission (or its time) to the start"),
        (MetricBin.RUN, "run_seconds", "From the start to the finish"),
    ):
        name = family(f"task_{short}", "histogram", f"{what}, of finished tasks, by kind.")
        for kind, tally in tallies:
            counts = tally.wait if measure == MetricBin.WAIT else tally.run
            total = tally.wait_total if measure == MetricBin.WAIT else tally.run_total
            labels = _kind_labels(kind)
            for le in LE_MICROS:
                bound = repr(le / 1_000_000)
                below = cumulative_at(counts, le)
                lines.append(f"{name}_bucket{_labels(**labels, le=bound)} {below}")
            count = sum(counts.values())
            lines.append(f"{name}_bucket{_labels(**labels, le='+Inf')} {count}")
            lines.append(f"{name}_sum{_labels(**labels)} {total / 1_000_000!r}")
            lines.append(f"{name}_count{_labels(**labels)} {count}")
    return "\n".join(lines) + "\n"
