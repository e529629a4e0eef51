"""Task bodies: plain functions that do the work and report progress, free of Celery."""

import time
from collections.abc import Callable
from typing import Any

from webapp.tasks.kinds import Kind

# Enough steps for a smooth progress bar, few enough to keep database writes cheap.
STEPS = 20

ProgressReporter = Callable[[int], object]


def sleep_in_steps(
    seconds: float, report: ProgressReporter, steps: int = STEPS
) -> None:
    """Sleep `seconds` in `steps` equal parts, reporting percent done after each."""
    for step in range(1, steps + 1):
        time.sleep(seconds / steps)
        report(step * 100 // steps)


def run(kind: Kind, scale: float, report: ProgressReporter) -> dict[str, Any]:
    """Do the work of one task of `kind`, durations multiplied by `scale`."""
    seconds = kind.seconds * scale
    if seconds <= 0:
        # Nothing to report on the way: finishing sets progress to 100 anyway, and
        # a report here would cost an instant task one more database write.
        return {"slept_seconds": 0.0, "steps": 1}
    sleep_in_steps(seconds, report)
    return {"slept_seconds": round(seconds, 3), "steps": STEPS}
