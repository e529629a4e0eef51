"""The Celery app, configured only from Django settings under the CELERY_ prefix."""

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.app.events import Events
from celery.events.dispatcher import EventDispatcher

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

logger = logging.getLogger(__name__)

# How long a stopping worker waits to tell others it stops (worker-offline, its row).
GOODBYE_SECONDS = 3.0


def best_effort(call: Callable[[], object], seconds: float, what: str) -> None:
    """Run `call`, but wait for it `seconds` at most, leaving it behind in a daemon
    thread after that. For what a stopping worker says as it goes, which the others
    learn anyway from its missing heartbeats: while the stack stops (podman-compose
    stops every container at once), looking up a service that just went hung in
    getaddrinfo, which no timeout of Redis's or the database's covers, past podman's
    stop timeout, and the worker was killed."""
    worker = threading.Thread(target=call, daemon=True, name=what)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        logger.warning("gave up on %s after %s s", what, seconds)


# How long a worker's event may wait for Redis: a few tries within about two seconds,
# like task publishing (CELERY_TASK_PUBLISH_RETRY_POLICY).
EVENT_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}


class BoundedEventDispatcher(EventDispatcher):
    """Sends a worker's events with a bounded retry. Celery sends the heartbeat (every
    2 s) and worker-offline with `retry=True` and no policy, which kombu retries for
    ever once the connection was up: with Redis gone, the worker's loop stayed in that
    retry and never saw a stop (podman-compose stops Redis and the workers at once;
    they were killed after the timeout). A heartbeat that gives up is kept for later
    (buffer_while_offline), and the next one tries again."""

    def send(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("retry") and kwargs.get("retry_policy") is None:
            kwargs["retry_policy"] = EVENT_RETRY_POLICY
        if args and args[0] == "worker-offline":  # the last thing a worker says
            best_effort(
                lambda: super(BoundedEventDispatcher, self).send(*args, **kwargs),
                GOODBYE_SECONDS,
                "the worker-offline event",
            )
            return None
        return super().send(*args, **kwargs)


class BoundedEvents(Events):
    dispatcher_cls = "webapp.celery:BoundedEventDispatcher"


app = Celery("webapp", events=BoundedEvents)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
