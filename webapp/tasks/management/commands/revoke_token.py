"""manage.py revoke_token: revoke tokens by the token or its prefix, user, or name."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import QuerySet

from webapp.tasks.models import ApiToken, AuditAction
from webapp.tasks.web import audit


class Command(BaseCommand):
    help = (
        "Revoke API tokens: give the token itself or its prefix (the admin lists "
        "prefixes), and/or --user, --name. Every active token that matches is revoked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", nargs="?", help="the token, or its first characters")
        parser.add_argument("--user", help="the user whose tokens to revoke")
        parser.add_argument("--name", help="the name given to create_token")

    def handle(self, *args: Any, **options: Any) -> None:
        tokens = self.matching(options["token"], options["user"], options["name"])
        with transaction.atomic():
            revoked = [token for token in tokens if token.revoke()]
            for token in revoked:
                audit.record(None, AuditAction.TOKEN_REVOKE, token=token)
        for token in revoked:
            self.stdout.write(f"revoked {token}")
        self.stdout.write(f"Revoked {len(revoked)} token{'' if len(revoked) == 1 else 's'}.")

    @staticmethod
    def matching(token: str | None, user: str | None, name: str | None) -> QuerySet[ApiToken]:
        if not (token or user or name):
            raise CommandError("Say which tokens: a token or its prefix, --user or --name.")
        tokens = ApiToken.objects.select_related("user").filter(revoked_at__isnull=True)
        if token:
            if len(token) < 8:
                raise CommandError("Give at least 8 characters of the token.")
            by_digest = tokens.filter(digest=ApiToken.digest_of(token))
            if by_digest.exists():
                tokens = by_digest
            else:  # a prefix as the admin shows it, or its start
                tokens = tokens.filter(prefix__startswith=token[: ApiToken.SHOWN])
        if user:
            tokens = tokens.filter(user__username=user)
        if name:
            tokens = tokens.filter(name=name)
        return tokens
