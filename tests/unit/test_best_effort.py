"""What a stopping worker tells others (worker-offline, its row deleted) is best effort
within a bound: while the stack stops, looking up a service that just went hung in
getaddrinfo past podman's stop timeout, and the worker was killed."""

import threading

from conftest import wait_for
from webapp.celery import best_effort


def test_a_call_that_hangs_is_left_behind() -> None:
    release = threading.Event()
    returned = threading.Event()

    def stopping() -> None:
        best_effort(release.wait, seconds=0.2, what="a lookup that hangs")
        returned.set()

    threading.Thread(target=stopping, daemon=True).start()

    wait_for(returned.is_set, 5, "best_effort to return without the call")
    release.set()


def test_a_call_that_ends_in_time_has_run() -> None:
    ran: list[str] = []

    best_effort(lambda: ran.append("ran"), seconds=5, what="a quick call")

    assert ran == ["ran"]
