"""The kinds of task a person can launch; the seed's form field `type` picks one."""

from django.db import models


class Kind(models.IntegerChoices):
    INSTANT = 0, "instant"
    SHORT = 1, "short"
    MEDIUM = 2, "medium"
    LONG = 3, "long"

    @property
    def seconds(self) -> float:
        """Unscaled duration: the seed slept `type * 10` seconds."""
        return float(self.value * 10)

    @classmethod
    def accepted(cls) -> str:
        """What the `type` field accepts, for error messages."""
        return ", ".join(f"{kind.value} ({kind.label})" for kind in cls)
