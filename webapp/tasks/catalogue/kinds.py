"""The kinds of task a person can launch; the seed's form field `type` picks one.

The numbers are the seed's contract (and the database's); what each kind does, its
parameters, queue and duration are declared once, in the catalogue (see catalogue/bodies.py),
and the properties below read them from there.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from webapp.tasks.catalogue.entries import Entry


class Kind(models.IntegerChoices):
    # The seed's four: sleep type * 10 seconds.
    INSTANT = 0, "instant"
    SHORT = 1, "short"
    MEDIUM = 2, "medium"
    LONG = 3, "long"
    # What a task system is for: CPU-bound work off the web process, a task that
    # breaks, and one that meets a flaky dependency and is retried with backoff.
    CPU = 4, "cpu-heavy"
    FAILING = 5, "failing"
    FLAKY = 6, "flaky"
    # Its effect leaves the system (a message sent): a second run would repeat it.
    NOTIFY = 7, "notify"
    # Reads the tasks its owner may see and writes them to a CSV file to download.
    EXPORT = 8, "export"

    @property
    def seconds(self) -> float:
        """Unscaled duration of a successful run with the default parameters."""
        entry = self._entry()
        return entry.expected_seconds(entry.defaults)

    @property
    def title(self) -> str:
        """The label as a heading: "CPU-heavy", not capfirst's "Cpu-heavy"."""
        return self._entry().title

    @property
    def scaled_seconds(self) -> float:
        """How long a successful run takes here, with TASK_TIME_SCALE applied."""
        return self._entry().scaled_seconds

    @property
    def description(self) -> str:
        """What the kind does, with the durations of this deployment (scaled), so the
        text never contradicts the duration shown next to it."""
        return self._entry().description

    @property
    def safe_to_repeat(self) -> bool:
        return self._entry().safe_to_repeat

    @property
    def queue(self) -> str:
        """The Celery queue its tasks are published to: CPU-heavy work has a queue of
        its own, so that its workers can be scaled (or paused) apart from the rest."""
        return self._entry().queue

    @classmethod
    def accepted(cls) -> str:
        """What the `type` field accepts, for error messages."""
        return ", ".join(f"{kind.value} ({kind.label})" for kind in cls)

    def _entry(self) -> "Entry":
        from webapp.tasks.catalogue import entries  # which imports this module

        return entries.entry_of(self)


def queue_names() -> list[str]:
    """Every queue a kind is published to, the default queue first."""
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    return [default, *sorted({kind.queue for kind in Kind} - {default})]


def kinds_of(queue: str) -> list[Kind]:
    return [kind for kind in Kind if kind.queue == queue]
