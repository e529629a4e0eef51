"""manage.py create_token USER [--role ROLE]: a bearer token for scripts, printed once."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from webapp.tasks.models import ApiToken, AuditAction, Role
from webapp.tasks.web import audit


class Command(BaseCommand):
    help = "Create an API token for USER and print it; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")
        parser.add_argument(
            "--role",
            choices=Role.values,
            help="what the token may do, never more than its user: viewer (reads), "
            "operator (launches and steers), admin (everything); default: the user's role",
        )
        parser.add_argument(
            "--read-only",
            action="store_true",
            help="the same as --role viewer (kept for scripts written before roles)",
        )
        parser.add_argument(
            "--expires-in", type=float, metavar="DAYS", help="the token stops working after"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        days = options["expires_in"]
        if days is not None and not days > 0:
            raise CommandError("--expires-in must be a positive number of days.")
        role = options["role"]
        if options["read_only"]:
            if role not in (None, Role.VIEWER):
                raise CommandError("--read-only is --role viewer; give one or the other.")
            role = Role.VIEWER
        with transaction.atomic():
            record, token = ApiToken.issue(
                user,
                name=options["name"],
                role=Role(role) if role else None,
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
            audit.record(None, AuditAction.TOKEN_CREATE, token=record)
        # Only the token on stdout, so `TOKEN=$(manage.py create_token USER)` works.
        self.stdout.write(token)
