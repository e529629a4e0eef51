"""Workers report themselves: a row per worker, refreshed by Celery's own heartbeat.

The dashboard's workers panel reads these rows instead of calling Celery's inspect
API, which broadcasts to every worker and waits a second for the answers: here the
cost is paid once per heartbeat (2 s) per worker, in the background, however many
dashboards are open.
"""

import logging
from typing import Any

from celery.signals import heartbeat_sent, worker_ready, worker_shutdown
from django.db import DatabaseError
from django.utils import timezone

from webapp.tasks.models import WorkerStatus

logger = logging.getLogger(__name__)


@worker_ready.connect
def record_worker_ready(sender: Any, **kwargs: Any) -> None:
    now = timezone.now()
    WorkerStatus.objects.update_or_create(
        hostname=sender.hostname,
        defaults={
            "concurrency": sender.pool.num_processes if sender.pool else 0,
            "started_at": now,
            "last_seen": now,
        },
    )


@heartbeat_sent.connect
def record_heartbeat(sender: Any, **kwargs: Any) -> None:
    try:
        WorkerStatus.objects.filter(hostname=sender.eventer.hostname).update(
            last_seen=timezone.now()
        )
    except DatabaseError:
        # A busy or restarting database must not break the worker's heartbeat.
        logger.warning("could not record heartbeat", exc_info=True)


@worker_shutdown.connect
def record_worker_gone(sender: Any, **kwargs: Any) -> None:
    WorkerStatus.objects.filter(hostname=sender.hostname).delete()
