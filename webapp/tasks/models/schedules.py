"""What a periodic schedule launches, and for whom (its timing is django-celery-beat's)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.tasks.catalogue.kinds import Kind


class Schedule(models.Model):
    """A catalogue entry launched periodically with set parameters, as its owner.

    Its timing and on/off switch are django-celery-beat's PeriodicTask (beat reads
    them; the admin edits them); this row says what to launch and for whom. Deleting
    the PeriodicTask deletes this row; its runs stay, unlinked.
    """

    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", on_delete=models.CASCADE, related_name="dashboard"
    )
    kind = models.PositiveSmallIntegerField(choices=Kind.choices)
    params = models.JSONField()
    # Its runs are this user's tasks (None: anonymous local use), whoever edits it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="schedules",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When beat last launched a run: the next run counts from here.
    last_fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"schedule {self.pk}: {self.get_kind_display()}"

    @property
    def url(self) -> str:
        return f"/schedules/{self.pk}/"
