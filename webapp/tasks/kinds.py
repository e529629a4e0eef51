"""The kinds of task a person can launch; the seed's form field `type` picks one."""

from django.conf import settings
from django.db import models


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

    @property
    def seconds(self) -> float:
        """Unscaled duration of a successful run (the CPU kind: on this kind of machine)."""
        return SECONDS[self]

    @property
    def title(self) -> str:
        """The label as a heading: "CPU-heavy", not capfirst's "Cpu-heavy"."""
        return TITLES.get(self, self.label.capitalize())

    @property
    def scaled_seconds(self) -> float:
        """How long a successful run takes here, with TASK_TIME_SCALE applied."""
        return self.seconds * settings.TASK_TIME_SCALE

    @property
    def description(self) -> str:
        """What the kind does, with the durations of this deployment (scaled), so the
        text never contradicts the duration shown next to it."""
        scaled = self.scaled_seconds
        return DESCRIPTIONS[self].format(
            seconds=_duration(scaled),
            fails_after=_duration(scaled * 0.3),
            waits=_duration(3 * 2.0 * settings.TASK_TIME_SCALE),
        )

    @property
    def safe_to_repeat(self) -> bool:
        """Whether a run cut short may simply run again from the start: a task whose
        worker stopped or died under it is queued again if so, and otherwise ends
        FAILURE saying why, for a person to retry (or not)."""
        return self not in NOT_SAFE_TO_REPEAT

    @property
    def queue(self) -> str:
        """The Celery queue its tasks are published to: CPU-heavy work has a queue of
        its own, so that its workers can be scaled (or paused) apart from the rest."""
        return QUEUES.get(self, settings.CELERY_TASK_DEFAULT_QUEUE)

    @classmethod
    def accepted(cls) -> str:
        """What the `type` field accepts, for error messages."""
        return ", ".join(f"{kind.value} ({kind.label})" for kind in cls)


SECONDS = {
    Kind.INSTANT: 0.0,
    Kind.SHORT: 10.0,
    Kind.MEDIUM: 20.0,
    Kind.LONG: 30.0,
    Kind.CPU: 10.0,
    Kind.FAILING: 10.0,
    Kind.FLAKY: 10.0,
    Kind.NOTIFY: 10.0,
}

NOT_SAFE_TO_REPEAT = frozenset({Kind.NOTIFY})

# Kinds that do not go to the default queue (CELERY_TASK_DEFAULT_QUEUE).
QUEUES = {Kind.CPU: "cpu"}


def queue_names() -> list[str]:
    """Every queue a kind is published to, the default queue first."""
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    return [default, *sorted({kind.queue for kind in Kind} - {default})]


def kinds_of(queue: str) -> list[Kind]:
    return [kind for kind in Kind if kind.queue == queue]


TITLES = {Kind.CPU: "CPU-heavy"}

# {seconds}: the kind's scaled duration; {fails_after}: 30 % of it (work.py's
# FAILING_AFTER_STEPS of 20); {waits}: the flaky kind's two backoffs, 2 s + 4 s
# scaled (tasks.py's RETRY_BACKOFF_SECONDS doubling).
DESCRIPTIONS = {
    Kind.INSTANT: "Returns at once.",
    Kind.SHORT: "Sleeps {seconds} in 20 steps.",
    Kind.MEDIUM: "Sleeps {seconds} in 20 steps.",
    Kind.LONG: "Sleeps {seconds} in 20 steps.",
    Kind.CPU: "Hashes for about {seconds}, holding a CPU (and the GIL) all along.",
    Kind.FAILING: "Reads a corrupt record after {fails_after} and fails.",
    Kind.FLAKY: (
        "Its upstream fails twice; retried after {waits} of backoff in all, "
        "the third try succeeds in {seconds}."
    ),
    Kind.NOTIFY: "Sends a one-off notification after {seconds}; not safe to run twice.",
}


def _duration(seconds: float) -> str:
    return f"{round(seconds, 1):g} s"
