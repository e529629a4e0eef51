"""`manage.py wait_for_database`: wait until the database accepts connections.

Containers start together; the one-shot migration runs this first so that it
does not fail on a database that is still initialising, even where the engine
ignores compose's health conditions (podman before 4.6).
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connections


class Command(BaseCommand):
    help = "Wait until the default database accepts connections, or fail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout", type=float, default=60, help="seconds to wait (default 60)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections["default"]
        deadline = time.monotonic() + options["timeout"]
        while True:
            try:
                connection.ensure_connection()
            except OperationalError as exc:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"database not reachable after {options['timeout']} s: {exc}"
                    ) from exc
                connection.close()
                time.sleep(0.5)
            else:
                self.stdout.write("database is ready")
                return
