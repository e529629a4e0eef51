"""The kinds of task a person can launch; the seed's form field `type` picks one."""

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
    def description(self) -> str:
        return DESCRIPTIONS[self]

    @property
    def safe_to_repeat(self) -> bool:
        """Whether a run cut short may simply run again from the start: a task whose
        worker stopped or died under it is queued again if so, and otherwise ends
        FAILURE saying why, for a person to retry (or not)."""
        return self not in NOT_SAFE_TO_REPEAT

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

DESCRIPTIONS = {
    Kind.INSTANT: "returns at once",
    Kind.SHORT: "sleeps 10 s in steps",
    Kind.MEDIUM: "sleeps 20 s in steps",
    Kind.LONG: "sleeps 30 s in steps",
    Kind.CPU: "hashes for about 10 s, holding a CPU (and the GIL) all along",
    Kind.FAILING: "reads a corrupt record after a few steps and fails",
    Kind.FLAKY: "its upstream fails twice; retried with backoff, the third try succeeds",
    Kind.NOTIFY: "sends a one-off notification after about 10 s; not safe to run twice",
}
