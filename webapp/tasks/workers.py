"""Workers report themselves: a row per worker, refreshed by Celery's own heartbeat,
and on each heartbeat they fail the tasks whose worker died under them.

The dashboard's workers panel reads these rows instead of calling Celery's inspect
API, which broadcasts to every worker and waits a second for the answers: here the
cost is paid once per heartbeat (2 s) per worker, in the background, however many
dashboards are open.

Each start of a worker gets a new instance id, set in the main process before the
pool forks, so its pool processes stamp it on the tasks they start. A task whose
instance no longer reports itself was running on a worker that died as a whole
(main process and pool): Celery cannot give it back to the queue until the broker's
visibility timeout, so a live worker marks it FAILURE instead (TaskRecord.mark_lost).
A pool process that dies alone is Celery's business: acks_late plus
reject_on_worker_lost put the task back in the queue and it runs again.
"""

import logging
import uuid
from typing import Any

from celery.signals import heartbeat_sent, worker_init, worker_ready, worker_shutdown
from django.db import DatabaseError
from django.utils import timezone

from webapp.tasks.models import TaskRecord, WorkerStatus

logger = logging.getLogger(__name__)

# This worker's instance id; empty outside a worker (web processes, eager tests).
INSTANCE = ""


@worker_init.connect
def name_this_instance(**kwargs: Any) -> None:
    # worker_init runs in the main process before the pool forks: the pool
    # processes inherit the id, and a restarted worker gets a new one.
    global INSTANCE
    INSTANCE = uuid.uuid4().hex


@worker_ready.connect
def record_worker_ready(sender: Any, **kwargs: Any) -> None:
    now = timezone.now()
    WorkerStatus.objects.update_or_create(
        hostname=sender.hostname,
        defaults={
            "instance": INSTANCE,
            "concurrency": sender.pool.num_processes if sender.pool else 0,
            "started_at": now,
            "last_seen": now,
        },
    )


@heartbeat_sent.connect
def record_heartbeat(sender: Any, **kwargs: Any) -> None:
    try:
        WorkerStatus.objects.filter(hostname=sender.eventer.hostname).update(
            instance=INSTANCE, last_seen=timezone.now()
        )
        for task_id in TaskRecord.mark_lost(WorkerStatus.online_instances()):
            logger.warning("task %s failed: the worker running it was lost", task_id)
    except DatabaseError:
        # A busy or restarting database must not break the worker's heartbeat.
        logger.warning("could not record heartbeat", exc_info=True)


@worker_shutdown.connect
def record_worker_gone(sender: Any, **kwargs: Any) -> None:
    WorkerStatus.objects.filter(hostname=sender.hostname).delete()
