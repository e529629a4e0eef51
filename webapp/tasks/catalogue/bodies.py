"""Task bodies: plain functions that do the work and report progress, free of Celery.

Each body is declared here, once, as a catalogue entry: its parameters, queue, run
time and whether it may run twice. `run` calls the body of a kind.
"""

import csv
import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import Max
from django.http import QueryDict

from webapp.tasks.access import scope_of
from webapp.tasks.catalogue import exports
from webapp.tasks.catalogue.entries import Param, Params, Run, declare, duration, entry_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, TaskRecord
from webapp.tasks.table.query import FOREIGN, TableQuery

# Enough steps for a smooth progress bar, few enough to keep database writes cheap.
STEPS = 20
# SHA-256 rounds per second of the CPU kind (measured on a 2-core CI machine).
HASHES_PER_SECOND = 2_000_000
# Steps done before the failing kind meets its corrupt record, unless told otherwise.
FAILING_AFTER_STEPS = 6
# Attempts of the flaky kind that fail before its dependency recovers, by default.
FLAKY_FAILURES = 2
# The flaky kind's retries wait 2 s, 4 s, 8 s (scaled): tasks.py's backoff.
RETRY_BACKOFF_SECONDS = 2.0
# A sleep longer than this would meet the hard time limit (TASK_TIME_LIMIT, 120 s
# unscaled by default).
MAX_SLEEP_SECONDS = 100

ProgressReporter = Callable[[int], object]


class TransientError(ConnectionError):
    """A dependency is briefly unavailable: worth retrying later."""


def sleep_in_steps(
    seconds: float,
    report: ProgressReporter,
    steps: int = STEPS,
    until: int | None = None,
) -> None:
    """Sleep `seconds` in `steps` equal parts, reporting percent done after each;
    stop after step `until` when given."""
    for step in range(1, (until if until is not None else steps) + 1):
        time.sleep(seconds / steps)
        report(step * 100 // steps)


def run(
    kind: Kind,
    scale: float,
    report: ProgressReporter,
    attempt: int = 0,
    params: Params | None = None,
    task_id: str = "",
) -> Any:
    """Do the work of one task of `kind` with `params` (the defaults for any not
    given), durations multiplied by `scale`.

    `attempt` counts earlier tries of the same task (0 for the first); `task_id`
    names its record."""
    entry = entry_of(kind)
    run = Run(scale=scale, report=report, attempt=attempt, task_id=task_id)
    return entry.body(entry.complete(params), run)


# --- The entries -----------------------------------------------------------------------


@declare(Kind.INSTANT, describe="Returns at once.")
def return_at_once(params: Params, run: Run) -> dict[str, Any]:
    # Nothing to report on the way: finishing sets progress to 100 anyway, and a
    # report here would cost an instant task one more database write.
    return {"slept_seconds": 0.0, "steps": 1}


def sleep_seconds(default: int) -> Param:
    return Param(
        "seconds",
        "int",
        default,
        help="How long it sleeps, in 20 steps (multiplied by TASK_TIME_SCALE).",
        minimum=0,
        maximum=MAX_SLEEP_SECONDS,
    )


def seconds_of(params: Params) -> float:
    return float(params["seconds"])


@declare(
    Kind.LONG,
    params=(sleep_seconds(30),),
    expected_seconds=seconds_of,
    describe="Sleeps {seconds} in 20 steps.",
)
@declare(
    Kind.MEDIUM,
    params=(sleep_seconds(20),),
    expected_seconds=seconds_of,
    describe="Sleeps {seconds} in 20 steps.",
)
@declare(
    Kind.SHORT,
    params=(sleep_seconds(10),),
    expected_seconds=seconds_of,
    describe="Sleeps {seconds} in 20 steps.",
)
def sleep(params: Params, run: Run) -> dict[str, Any]:
    """The seed's tasks: sleep `seconds`, as the seed slept `type * 10`."""
    seconds = params["seconds"] * run.scale
    if seconds <= 0:
        return {"slept_seconds": 0.0, "steps": 1}
    sleep_in_steps(seconds, run.report)
    return {"slept_seconds": round(seconds, 3), "steps": STEPS}


@declare(
    Kind.CPU,
    title="CPU-heavy",
    params=(
        Param(
            "seconds",
            "float",
            10.0,
            help="About how long it hashes, on a machine like CI's (times TASK_TIME_SCALE).",
            minimum=0.1,
            maximum=60,
        ),
    ),
    expected_seconds=seconds_of,
    describe="Hashes for about {seconds}, holding a CPU (and the GIL) all along.",
    queue="cpu",
)
def burn_cpu(params: Params, run: Run) -> dict[str, Any]:
    """Chain SHA-256 over a small buffer: pure CPU, the GIL held throughout."""
    seconds = params["seconds"] * run.scale
    rounds_per_step = max(1, int(HASHES_PER_SECOND * seconds / STEPS))
    digest = b"task dashboard"
    for step in range(1, STEPS + 1):
        for _ in range(rounds_per_step):
            digest = hashlib.sha256(digest).digest()
        run.report(step * 100 // STEPS)
    return {"sha256_rounds": rounds_per_step * STEPS, "digest": digest.hex()[:16]}


FAILING_SECONDS = 10.0


def describe_failing(params: Params, scale: float) -> str:
    fails_after = FAILING_SECONDS * scale * params["at_step"] / STEPS
    return f"Reads a corrupt record after {duration(fails_after)} and fails."


@declare(
    Kind.FAILING,
    params=(
        Param(
            "at_step",
            "int",
            FAILING_AFTER_STEPS,
            help=f"Steps (of {STEPS}) done before it meets the corrupt record.",
            minimum=0,
            maximum=STEPS - 1,
        ),
    ),
    expected_seconds=FAILING_SECONDS,
    describe=describe_failing,
)
def read_corrupt_record(params: Params, run: Run) -> None:
    seconds = FAILING_SECONDS * run.scale
    sleep_in_steps(seconds, run.report, until=params["at_step"])
    record = '{"id": 7, "payload": "truncated'  # what a broken upstream export looks like
    json.loads(record)  # raises json.JSONDecodeError, a real exception with a traceback


FLAKY_SECONDS = 10.0
TIMES = {0: "never", 1: "once", 2: "twice"}


def describe_flaky(params: Params, scale: float) -> str:
    failures = params["failures"]
    if not failures:
        return f"Its upstream works at once; succeeds in {duration(FLAKY_SECONDS * scale)}."
    waits = sum(RETRY_BACKOFF_SECONDS * 2**attempt for attempt in range(failures)) * scale
    times = TIMES.get(failures, f"{failures} times")
    return (
        f"Its upstream fails {times}; retried after {duration(waits)} of backoff in all, "
        f"try {failures + 1} succeeds in {duration(FLAKY_SECONDS * scale)}."
    )


@declare(
    Kind.FLAKY,
    params=(
        Param(
            "failures",
            "int",
            FLAKY_FAILURES,
            help="Tries that fail with a ConnectionError before the upstream recovers.",
            minimum=0,
            maximum=3,  # tasks.py's MAX_RETRIES: the try after the last failure succeeds
        ),
    ),
    expected_seconds=FLAKY_SECONDS,
    describe=describe_flaky,
)
def call_flaky_upstream(params: Params, run: Run) -> dict[str, Any]:
    """Fail with TransientError on the first `failures` attempts (0-based), then work."""
    seconds = FLAKY_SECONDS * run.scale
    if run.attempt < params["failures"]:
        sleep_in_steps(seconds, run.report, until=STEPS // 4)
        raise TransientError(f"upstream unavailable (attempt {run.attempt + 1})")
    sleep_in_steps(seconds, run.report)
    return {"attempts": run.attempt + 1, "upstream": "ok"}


# The kinds whose body only sleeps in steps: with nothing to sleep, it returns at once.
SLEEPING_KINDS = (Kind.INSTANT, Kind.SHORT, Kind.MEDIUM, Kind.LONG)


def returns_at_once(kind: Kind, scale: float, params: Params | None = None) -> bool:
    """Whether run() returns at once, so that the task's start and finish can share
    one database commit (TaskRecord.run_at_once)."""
    if kind not in SLEEPING_KINDS:
        return False
    entry = entry_of(kind)
    return entry.expected_seconds(entry.complete(params)) * scale <= 0


NOTIFY_SECONDS = 10.0


@declare(
    Kind.NOTIFY,
    params=(
        Param("to", "choice", "on-call", help="Who gets it.", choices=("on-call", "team", "all")),
        Param("message", "text", "the nightly export is ready", help="What it says."),
        Param("urgent", "bool", False, help="Page them rather than email them."),
    ),
    expected_seconds=NOTIFY_SECONDS,
    describe="Sends a one-off notification after {seconds}; not safe to run twice.",
    safe_to_repeat=False,
)
def send_notification(params: Params, run: Run) -> dict[str, Any]:
    """Prepare, then send: the sending is what must not happen twice."""
    sleep_in_steps(NOTIFY_SECONDS * run.scale, run.report)
    return {
        "sent": "page" if params["urgent"] else "notification",
        "to": params["to"],
        "message": params["message"],
    }


# --- The worked example of README "Add your own task": a CSV export -----------------

# Rows read per query: memory stays bounded however long the history.
EXPORT_BATCH = 500
EXPORT_COLUMNS = ("id", "kind", "status", "submitted", "started", "finished", "run_time", "error")
ANY = "any"


def export_query(params: Params, owner: int | None) -> TableQuery:
    """The dashboard's own filters (TableQuery), so an export lists what the table
    would; a search that is not the start of a task id fails the task saying why."""
    kinds = {kind.label: str(int(kind)) for kind in Kind} | {ANY: "", FOREIGN: FOREIGN}
    given = QueryDict(mutable=True)
    given.update(
        {
            "status": "" if params["status"] == ANY else params["status"],
            "kind": kinds[params["kind"]],
            "q": params["search"],
        }
    )
    return TableQuery.from_params(given, owner=owner)


def export_row(task: TaskRecord) -> list[str]:
    def moment(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    return [
        str(task.task_id),
        Kind(task.kind).label if task.kind is not None else task.name,
        task.status,
        moment(task.submitted_at),
        moment(task.started_at),
        moment(task.finished_at),
        f"{task.run_time.total_seconds():.3f}" if task.run_time is not None else "",
        task.error,
    ]


@declare(
    Kind.EXPORT,
    title="CSV export",
    params=(
        Param(
            "status",
            "choice",
            ANY,
            help="Only tasks in this status.",
            choices=(ANY, *Status.values),
        ),
        Param(
            "kind",
            "choice",
            ANY,
            help=f"Only tasks of this kind ({FOREIGN}: published outside the dashboard).",
            choices=(ANY, *Kind.labels, FOREIGN),
        ),
        Param("search", "text", "", help="Only tasks whose id starts so.", max_length=36),
    ),
    describe="Writes the tasks you can see, filtered, to a CSV file to download.",
)
def export_tasks(params: Params, run: Run) -> dict[str, Any]:
    """Write the tasks the launching user may see, filtered, oldest first, to
    EXPORT_DIR/<task id>.csv, reporting rows done over the count at the start."""
    owner = TaskRecord.objects.select_related("owner").get(task_id=run.task_id).owner
    tasks = export_query(params, scope_of(owner)).filtered().order_by("id")
    # The tasks there are now: those launched while it runs (itself, say) wait for
    # the next export, so the count it reports progress against stays true.
    last = tasks.aggregate(last=Max("id"))["last"] or 0
    total = tasks.filter(id__lte=last).count()
    path = exports.path_of(run.task_id)
    partial = exports.export_dir() / f".{path.name}.partial"
    rows = 0
    with partial.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(EXPORT_COLUMNS)
        after = 0
        while batch := list(tasks.filter(id__gt=after, id__lte=last)[:EXPORT_BATCH]):
            writer.writerows(export_row(task) for task in batch)
            rows += len(batch)
            after = batch[-1].id
            run.report(min(100, rows * 100 // total))
    # Renamed once complete: a download never meets half a file.
    partial.replace(path)
    return {"rows": rows, "bytes": path.stat().st_size, "file": path.name}
