"""Workers report themselves: a row per worker, refreshed by Celery's own heartbeat,
and on each heartbeat they follow the queue pauses (running/queues.py), take back the tasks
whose worker died under them and queue again those whose message never reached
Redis (running/publishing.py).

The dashboard's workers panel reads these rows instead of calling Celery's inspect
API, which broadcasts to every worker and waits a second for the answers: here the
cost is paid once per heartbeat (2 s) per worker, in the background, however many
dashboards are open.

Each start of a worker gets a new instance id, set in the main process before the
pool forks, so its pool processes stamp it on the tasks they start. A task whose
instance no longer reports itself was running on a worker that died as a whole
(main process and pool): Celery cannot give it back to the queue until the broker's
visibility timeout, so a live worker takes it back instead (TaskRecord.mark_lost):
a kind safe to repeat is queued again, at once, as a new attempt of the same task;
any other ends FAILURE saying why. A pool process that dies alone is Celery's
business: acks_late plus reject_on_worker_lost put the message back in the queue
(and tasks.TaskRequest the record).
"""

import logging
import uuid
from typing import Any

from celery.signals import heartbeat_sent, worker_init, worker_ready, worker_shutdown
from django.db import DatabaseError
from django.utils import timezone
from redis.exceptions import RedisError

from webapp.celery import GOODBYE_SECONDS, best_effort
from webapp.tasks.models import TaskRecord, WorkerStatus
from webapp.tasks.running import publishing, queues

logger = logging.getLogger(__name__)

# This worker's instance id; empty outside a worker (web processes, eager tests).
INSTANCE = ""
# This worker's consumer, once it is ready: the heartbeat makes it follow the pauses.
CONSUMER: Any = None


@worker_init.connect
def name_this_instance(**kwargs: Any) -> None:
    # worker_init runs in the main process before the pool forks: the pool
    # processes inherit the id, and a restarted worker gets a new one.
    global INSTANCE
    INSTANCE = uuid.uuid4().hex


@worker_ready.connect
def record_worker_ready(sender: Any, **kwargs: Any) -> None:
    global CONSUMER
    CONSUMER = sender
    record_worker(sender)


def record_worker(consumer: Any) -> None:
    """This worker's row, written whole: on ready, and again on a heartbeat that finds
    none (the ready one failed because the tables did not exist yet, as when compose
    starts workers while web migrates, or the row was removed)."""
    now = timezone.now()
    WorkerStatus.objects.update_or_create(
        hostname=consumer.hostname,
        defaults={
            "instance": INSTANCE,
            "concurrency": consumer.pool.num_processes if consumer.pool else 0,
            "started_at": now,
            "last_seen": now,
            "queues": queues.ASSIGNED,
            # A pause stored while it started, after it read the pauses, applies now.
            "consuming": queues.reconcile(consumer),
        },
    )


@heartbeat_sent.connect
def record_heartbeat(sender: Any, **kwargs: Any) -> None:
    try:
        changes: dict[str, Any] = {"instance": INSTANCE, "last_seen": timezone.now()}
        if CONSUMER is not None:
            changes["consuming"] = queues.reconcile(CONSUMER)
        updated = WorkerStatus.objects.filter(hostname=sender.eventer.hostname).update(**changes)
        if not updated and CONSUMER is not None:
            record_worker(CONSUMER)
        for task_id, kind, retries in TaskRecord.mark_lost(WorkerStatus.online_instances()):
            try:
                publishing.publish(task_id, kind, retries)
            except publishing.BrokerUnavailable as exc:
                TaskRecord.mark_failed(
                    task_id, f"Its worker was lost and it could not be queued again: {exc}"
                )
            else:
                logger.warning("task %s queued again: the worker running it was lost", task_id)
        for task_id in publishing.requeue_orphans():
            logger.warning("task %s queued again: its message never reached Redis", task_id)
    except (DatabaseError, RedisError):
        # A busy or restarting database or Redis must not break the worker's heartbeat.
        logger.warning("could not record heartbeat", exc_info=True)


@worker_shutdown.connect
def record_worker_gone(sender: Any, **kwargs: Any) -> None:
    # Otherwise its row ages out (WorkerStatus.ONLINE_WITHIN).
    best_effort(
        lambda: WorkerStatus.objects.filter(hostname=sender.hostname).delete(),
        GOODBYE_SECONDS,
        "deleting the worker's row",
    )
