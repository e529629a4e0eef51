"""The queues tasks wait in: how deep each is, who consumes it, and pausing one.

Every kind is published to a queue (catalogue/kinds.py: "cpu" for CPU-heavy work, "default"
for the rest) and workers serve the queues their `--queues` names (Procfile,
compose.yaml). Pausing a queue is stored first (QueueState), then told to the
workers serving it with Celery's own cancel_consumer / add_consumer broadcast, so
they stop taking its tasks at once (what already runs finishes). The store is the
truth, not the broadcast: a worker that starts leaves the paused queues out before
it consumes anything (celeryd_after_setup), and every worker compares what it
consumes with the store when it is ready and on each heartbeat (reconcile). So a
pause outlives worker restarts, and a broadcast a worker missed costs a heartbeat.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import redis
from celery.signals import celeryd_after_setup
from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Count, Min, Q, QuerySet, Subquery
from django.urls import reverse
from kombu.exceptions import OperationalError
from kombu.transport.redis import Channel
from redis.exceptions import RedisError

from webapp.celery import app
from webapp.tasks.access.scope import tasks_of
from webapp.tasks.catalogue.kinds import Kind, kinds_of, queue_names
from webapp.tasks.models import QueueState, Status, TaskRecord, WorkerStatus

logger = logging.getLogger(__name__)


class UnknownQueue(LookupError):
    """No kind is published to a queue of that name."""


@dataclass(frozen=True)
class Queue:
    """One queue as the workers panel and GET /queues/ show it."""

    name: str
    paused: bool
    # Everyone's scope: messages waiting in Redis (None when Redis did not answer).
    # One user's scope: that user's tasks waiting in it, from the records.
    waiting: int | None
    consumers: int  # online workers taking tasks from it now
    own_only: bool  # `waiting` and `oldest` count one user's tasks only
    oldest: TaskRecord | None = None  # the longest-waiting task of the scope

    @property
    def version(self) -> str:
        """What a poll must notice: pause, consumers and depth. A user's own waiting
        count is not here: it moves with their status counts, which the version has."""
        depth = "" if self.own_only else f":{self.waiting}"
        return f"{self.shape}{depth}"

    @property
    def shape(self) -> str:
        """The version but for the depth, which a busy queue moves all the time."""
        return f"{self.name}:{self.paused}:{self.consumers}"

    def as_json(self) -> dict[str, Any]:
        oldest = self.oldest
        return {
            "name": self.name,
            "paused": self.paused,
            "waiting": self.waiting,
            "consumers": self.consumers,
            "own_only": self.own_only,
            "oldest_waiting": None
            if oldest is None
            else {
                "task_id": str(oldest.task_id),
                "submitted_at": oldest.submitted_at.isoformat(),
                "url": oldest.url,
            },
            "pause_url": reverse("queues:pause", args=[self.name]),
            "resume_url": reverse("queues:resume", args=[self.name]),
        }


def check_name(name: str) -> str:
    if name not in queue_names():
        raise UnknownQueue(name)
    return name


def overview(
    owner: int | None, workers: list[WorkerStatus], with_oldest: bool = True
) -> list[Queue]:
    """Every queue in an owner scope (None: everyone's): one query for the pauses,
    then, `with_oldest`, two for how many wait and the oldest waiting task of each
    queue (everyone's scope: one, plus a Redis round trip for the depths). A poll
    asks for the version's part alone: the pauses (and the depths), never rows."""
    names = queue_names()
    paused = QueueState.paused_names()
    consumers = Counter(name for w in workers for name in w.consuming)
    waiting: dict[str, int | None] = dict.fromkeys(names)
    oldest: dict[str, TaskRecord] = {}
    if owner is None:
        waiting |= depths(names)
        if with_oldest:
            oldest = oldest_waiting(names)
    elif with_oldest:
        waiting, oldest = own_waiting(owner, names)
    return [
        Queue(
            name=name,
            paused=name in paused,
            waiting=waiting[name],
            consumers=consumers[name],
            own_only=owner is not None,
            oldest=oldest.get(name),
        )
        for name in names
    ]


def oldest_waiting(names: list[str]) -> dict[str, TaskRecord]:
    """Everyone's task that has waited longest in each queue, in one query: a
    subquery per kind seeks its oldest PENDING task on (status, kind, id), and the
    outer query fetches those few rows by id."""
    pending = TaskRecord.objects.filter(status=Status.PENDING).order_by("id")
    firsts = Q()
    for name in names:
        for kind in kinds_of(name):
            # A kind IN (...) would make SQLite sort every waiting task of those
            # kinds, or walk all of their history.
            firsts |= Q(id=Subquery(pending.filter(kind=kind).values("id")[:1]))
    return oldest_by_queue(TaskRecord.objects.filter(firsts))


def own_waiting(
    owner: int, names: list[str]
) -> tuple[dict[str, int | None], dict[str, TaskRecord]]:
    """One user's waiting tasks per queue, and the oldest of each: their PENDING
    tasks by kind along (owner, status, id), as many as they have waiting and never
    everyone's; then those oldest rows by id."""
    waiting: dict[str, int | None] = dict.fromkeys(names, 0)
    firsts = []
    own = tasks_of(owner).filter(status=Status.PENDING).order_by()
    for kind, count, first in own.values_list("kind").annotate(Count("id"), Min("id")):
        queue = Kind(kind).queue
        waiting[queue] = (waiting[queue] or 0) + count
        firsts.append(first)
    if not firsts:
        return waiting, {}
    return waiting, oldest_by_queue(TaskRecord.objects.filter(id__in=firsts))


def oldest_by_queue(tasks: QuerySet[TaskRecord]) -> dict[str, TaskRecord]:
    """Of a few tasks (each the oldest waiting of its kind), the oldest of each queue."""
    oldest: dict[str, TaskRecord] = {}
    rows = tasks.only("id", "task_id", "kind", "submitted_at")
    for task in sorted(rows, key=lambda row: row.id, reverse=True):
        if task.queue is not None:  # always: only tasks of a kind are given
            oldest[task.queue] = task  # the lowest id of each queue is written last
    return oldest


# --- Depth: the messages waiting in Redis ---------------------------------------------
# Kombu keeps a queue as a Redis list, and one more list per message priority step;
# a message a worker has taken (reserved, or running unacknowledged) is in none.

_broker: redis.Redis | None = None


def broker() -> redis.Redis:
    global _broker
    if _broker is None:
        _broker = redis.Redis.from_url(
            settings.CELERY_BROKER_URL,
            socket_timeout=settings.BROKER_SOCKET_TIMEOUT,
            socket_connect_timeout=settings.BROKER_SOCKET_TIMEOUT,
        )
    return _broker


def priority_lists(name: str) -> list[str]:
    return [name if step == 0 else f"{name}{Channel.sep}{step}" for step in Channel.priority_steps]


def depths(names: list[str]) -> dict[str, int | None]:
    """Messages waiting in each queue, in one round trip; None when Redis is away."""
    try:
        with broker().pipeline(transaction=False) as pipe:
            for name in names:
                for key in priority_lists(name):
                    pipe.llen(key)
            lengths = pipe.execute()
    except RedisError as exc:
        logger.warning("could not read the queue depths from Redis: %s", exc)
        return dict.fromkeys(names)
    steps = len(Channel.priority_steps)
    return {name: sum(lengths[i * steps : (i + 1) * steps]) for i, name in enumerate(names)}


# --- Pausing: stored, then told to the workers -----------------------------------------


def set_paused(name: str, paused: bool, by: Any = None) -> bool:
    """Pause or resume queue `name` (UnknownQueue if no kind uses it); whether that
    changed anything. The workers serving it are told at once; one that misses it
    (restarting, or the broker away) follows the store on its next heartbeat."""
    check_name(name)
    changed = QueueState.set_paused(name, paused, by=by)
    serving = [w.hostname for w in WorkerStatus.online() if name in w.queues]
    if serving:
        try:
            if paused:
                app.control.cancel_consumer(name, destination=serving)
            else:
                app.control.add_consumer(name, destination=serving)
        except OperationalError:
            logger.warning("could not tell the workers about queue %s; they will see", name)
    return changed


# --- In the worker ---------------------------------------------------------------------

# The queues this worker was started to serve (-Q), before any was left out.
ASSIGNED: list[str] = []


@celeryd_after_setup.connect
def leave_paused_queues_out(sender: str, instance: Any, **kwargs: Any) -> None:
    """Before the worker consumes anything: not from a paused queue."""
    global ASSIGNED
    selected = instance.app.amqp.queues
    ASSIGNED = sorted(selected.consume_from)
    try:
        paused = QueueState.paused_names() & set(ASSIGNED)
    except DatabaseError:
        logger.warning("could not read which queues are paused; the heartbeat will")
        return
    finally:
        connections.close_all()  # opened before the pool forks: not to be shared
    if paused:
        selected.deselect(sorted(paused))
        logger.warning("queue(s) %s paused: not consuming from them", ", ".join(sorted(paused)))


def reconcile(consumer: Any) -> list[str]:
    """Make what this worker consumes follow the store: cancel its paused queues,
    take its resumed ones back. Returns the queues it consumes from afterwards."""
    paused = QueueState.paused_names()
    task_consumer = consumer.task_consumer
    if task_consumer is None:  # not connected yet
        return []
    consuming = {queue.name for queue in task_consumer.queues}
    for name in ASSIGNED:
        if name in paused and name in consuming:
            logger.warning("queue %s is paused: no longer consuming from it", name)
            consumer.cancel_task_queue(name)
            consuming.discard(name)
        elif name not in paused and name not in consuming:
            logger.warning("queue %s runs: consuming from it again", name)
            consumer.add_task_queue(name)
            consuming.add(name)
    return sorted(consuming)
