"""`manage.py publish_due`: the scheduler process. It publishes each scheduled task
(`eta`, `countdown`) when it is due, until SIGTERM or SIGINT; see running/scheduling.py."""

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from webapp.tasks.running import scheduling


class Command(BaseCommand):
    help = "Publish scheduled tasks when they are due (runs until stopped)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tick",
            type=float,
            default=scheduling.TICK_SECONDS,
            help=f"seconds between looks for due tasks (default {scheduling.TICK_SECONDS})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, on_signal)
        scheduling.run_forever(stop, tick=options["tick"])
