"""Workers as they last reported themselves, and the queues' pause switches."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone


class WorkerStatus(models.Model):
    """A Celery worker as it last reported itself (on start, then every heartbeat)."""

    hostname = models.CharField(max_length=255, primary_key=True)
    # A new id each time a worker starts (see running/workers.py), copied onto the tasks it
    # starts: a restarted worker keeps its hostname but not its instance.
    instance = models.CharField(max_length=32, blank=True)
    concurrency = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    # The queues it was started to serve (-Q), and those it takes tasks from now:
    # fewer while one is paused (running/queues.py).
    queues = models.JSONField(default=list, blank=True)
    consuming = models.JSONField(default=list, blank=True)

    # A worker that missed this long of heartbeats (sent every 2 s) counts as gone.
    ONLINE_WITHIN = timedelta(seconds=10)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname

    @classmethod
    def online(cls) -> list["WorkerStatus"]:
        return list(cls.objects.filter(last_seen__gte=timezone.now() - cls.ONLINE_WITHIN))

    @classmethod
    def online_instances(cls) -> set[str]:
        return {worker.instance for worker in cls.online()}


class QueueState(models.Model):
    """Whether a queue is paused: its workers take no task from it, and a worker that
    starts leaves it alone (running/queues.py). A queue without a row runs."""

    name = models.CharField(max_length=100, primary_key=True)
    paused = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"queue {self.name} ({'paused' if self.paused else 'running'})"

    @classmethod
    def paused_names(cls) -> set[str]:
        return set(cls.objects.filter(paused=True).values_list("name", flat=True))

    @classmethod
    def set_paused(cls, name: str, paused: bool, by: Any = None) -> bool:
        """Pause or resume queue `name`; whether that changed anything (a second
        pause, or a resume of a running queue, does not)."""
        now = timezone.now()
        with transaction.atomic():
            _, created = cls.objects.get_or_create(
                name=name, defaults={"paused": paused, "changed_at": now, "changed_by": by}
            )
            if created:
                return paused
            return bool(
                cls.objects.filter(name=name)
                .exclude(paused=paused)
                .update(paused=paused, changed_at=now, changed_by=by)
            )
