"""`manage.py migrate_when_ready`: wait for the database, then migrate under a lock.

A web container runs it before gunicorn starts. It waits, with a deadline, for a
database that may still be starting (some engines ignore compose's health
conditions: podman before 4.6), and on PostgreSQL holds an advisory lock while it
migrates, so replicas that start together apply each migration once, in turn.
"""

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connections

# pg_advisory_lock key: any constant that no other code of this database uses.
MIGRATION_LOCK = 0x7461736B  # "task"


class Command(BaseCommand):
    help = "Wait until the database accepts connections, then apply migrations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout", type=float, default=60, help="seconds to wait (default 60)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.wait_for_database(options["timeout"])
        connection = connections["default"]
        if connection.vendor != "postgresql":
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
            try:
                call_command("migrate", interactive=False, verbosity=options["verbosity"])
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])

    def wait_for_database(self, timeout: float) -> None:
        connection = connections["default"]
        deadline = time.monotonic() + timeout
        while True:
            try:
                connection.ensure_connection()
                return
            except OperationalError as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"database not reachable after {timeout} s: {exc}") from exc
                connection.close()
                time.sleep(0.5)
