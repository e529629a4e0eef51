"""Plain Celery tasks of the app that are not in the catalogue: the dashboard lists
them when anything publishes them (running/seen.py). `celery -A webapp call demo.add --args
'[2, 3]'` from a shell shows one in the table."""

import logging
import time

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="demo.add")
def add(x: float, y: float) -> float:
    return x + y


@shared_task(name="demo.echo")
def echo(*args: object, **kwargs: object) -> dict[str, object]:
    return {"args": list(args), "kwargs": kwargs}


@shared_task(name="demo.fail")
def fail(message: str) -> None:
    raise ValueError(message)


@shared_task(name="demo.chatter")
def chatter(count: int, width: int = 0, pause: float = 0.0) -> int:
    """Log `count` lines ("line 1 xxx…", `width` x's each), `pause` seconds apart:
    a task whose output (running/output.py) is more than is kept, or arrives slowly."""
    for n in range(1, count + 1):
        logger.info("line %d %s", n, "x" * width)
        if pause:
            time.sleep(pause)
    return count
