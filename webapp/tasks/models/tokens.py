"""Bearer tokens for scripts."""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A bearer token for scripts. Only its SHA-256 is stored, and its first
    characters (`prefix`) to tell tokens apart: the token itself is shown once, when
    `manage.py create_token` makes it. A token may be read-only (it lists and reads,
    never launches or steers), may expire, and can be revoked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, blank=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    PREFIX = "tdb_"
    # "tdb_" and 8 of its 43 random characters: enough to name it, too few to matter.
    SHOWN = 12
    # A busy script must not turn every request into a write.
    TOUCH_EVERY = timedelta(seconds=60)

    def __str__(self) -> str:
        return f"{self.name or 'token'} {self.prefix}… of {self.user}"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(
        cls,
        user: Any,
        name: str = "",
        read_only: bool = False,
        expires_at: datetime | None = None,
    ) -> tuple["ApiToken", str]:
        """Create a token for `user`; returns the record and the token to show once."""
        token = cls.PREFIX + secrets.token_urlsafe(32)
        record = cls.objects.create(
            user=user,
            name=name,
            prefix=token[: cls.SHOWN],
            digest=cls.digest_of(token),
            read_only=read_only,
            expires_at=expires_at,
        )
        return record, token

    @classmethod
    def authenticate(cls, token: str) -> tuple["ApiToken | None", str]:
        """The valid token record and "", or None and why it was refused."""
        record = cls.objects.select_related("user").filter(digest=cls.digest_of(token)).first()
        if record is None or not record.user.is_active:
            return None, "That token is not valid."
        if record.revoked_at is not None:
            return None, "That token was revoked."
        if record.expires_at is not None and record.expires_at <= timezone.now():
            return None, "That token has expired."
        record.touch()
        return record, ""

    def touch(self) -> None:
        """Note that the token was used: at most one write a minute, even when several
        web processes see it at once (the UPDATE is conditional)."""
        now = timezone.now()
        stale = now - self.TOUCH_EVERY
        if self.last_used_at is not None and self.last_used_at >= stale:
            return
        ApiToken.objects.filter(pk=self.pk).filter(
            models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=stale)
        ).update(last_used_at=now)

    def revoke(self) -> bool:
        """Revoke it for good; False if it already was."""
        return bool(
            ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        )
