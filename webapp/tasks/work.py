"""Task bodies: plain functions that do the work and report progress, free of Celery."""

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from webapp.tasks.kinds import Kind

# Enough steps for a smooth progress bar, few enough to keep database writes cheap.
STEPS = 20
# SHA-256 rounds per second of the CPU kind (measured on a 2-core CI machine).
HASHES_PER_SECOND = 2_000_000
# Steps done before the failing kind meets its corrupt record.
FAILING_AFTER_STEPS = 6
# Attempts of the flaky kind that fail before its dependency recovers.
FLAKY_FAILURES = 2

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
    for step in range(1, (until or steps) + 1):
        time.sleep(seconds / steps)
        report(step * 100 // steps)


def burn_cpu(seconds: float, report: ProgressReporter) -> dict[str, Any]:
    """Chain SHA-256 over a small buffer: pure CPU, the GIL held throughout."""
    rounds_per_step = max(1, int(HASHES_PER_SECOND * seconds / STEPS))
    digest = b"task dashboard"
    for step in range(1, STEPS + 1):
        for _ in range(rounds_per_step):
            digest = hashlib.sha256(digest).digest()
        report(step * 100 // STEPS)
    return {"sha256_rounds": rounds_per_step * STEPS, "digest": digest.hex()[:16]}


def read_corrupt_record(seconds: float, report: ProgressReporter) -> None:
    sleep_in_steps(seconds, report, until=FAILING_AFTER_STEPS)
    record = '{"id": 7, "payload": "truncated'  # what a broken upstream export looks like
    json.loads(record)  # raises json.JSONDecodeError, a real exception with a traceback


def call_flaky_upstream(seconds: float, report: ProgressReporter, attempt: int) -> dict[str, Any]:
    """Fail with TransientError on the first FLAKY_FAILURES attempts (0-based), then work."""
    if attempt < FLAKY_FAILURES:
        sleep_in_steps(seconds, report, until=STEPS // 4)
        raise TransientError(f"upstream unavailable (attempt {attempt + 1})")
    sleep_in_steps(seconds, report)
    return {"attempts": attempt + 1, "upstream": "ok"}


def send_notification(seconds: float, report: ProgressReporter) -> dict[str, Any]:
    """Prepare for `seconds`, then send: the sending is what must not happen twice."""
    sleep_in_steps(seconds, report)
    return {"sent": "notification", "to": "on-call", "message": "the nightly export is ready"}


# The kinds whose body only sleeps in steps: with nothing to sleep, it returns at once.
SLEEPING_KINDS = (Kind.INSTANT, Kind.SHORT, Kind.MEDIUM, Kind.LONG)


def returns_at_once(kind: Kind, scale: float) -> bool:
    """Whether run() returns at once without reporting progress, so that the task's
    start and finish can share one database commit (TaskRecord.run_at_once)."""
    return kind in SLEEPING_KINDS and kind.seconds * scale <= 0


def run(kind: Kind, scale: float, report: ProgressReporter, attempt: int = 0) -> Any:
    """Do the work of one task of `kind`, durations multiplied by `scale`.

    `attempt` counts earlier tries of the same task (0 for the first)."""
    seconds = kind.seconds * scale
    if kind is Kind.CPU:
        return burn_cpu(seconds, report)
    if kind is Kind.FAILING:
        read_corrupt_record(seconds, report)
    if kind is Kind.FLAKY:
        return call_flaky_upstream(seconds, report, attempt)
    if kind is Kind.NOTIFY:
        return send_notification(seconds, report)
    if seconds <= 0:
        # Nothing to report on the way: finishing sets progress to 100 anyway, and
        # a report here would cost an instant task one more database write.
        return {"slept_seconds": 0.0, "steps": 1}
    sleep_in_steps(seconds, report)
    return {"slept_seconds": round(seconds, 3), "steps": STEPS}
