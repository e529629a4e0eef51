"""A long response's sign of life to the server process that runs it.

gunicorn's sync workers are killed when they have not told the master they are alive
for `timeout` seconds, and a worker tells it only between requests. A download that
streams for minutes (web/stream_export.py) would be killed half-way, so it calls `beat()`
after every chunk it writes: the timeout then still ends a worker that is stuck, but
no longer one that is making progress. gunicorn.conf.py's post_worker_init installs
the worker's own `notify`; anywhere else (tests, `manage.py runserver`) it does nothing.
"""

from collections.abc import Callable


def _nothing() -> None:
    return None


_notify: Callable[[], None] = _nothing


def install(notify: Callable[[], None]) -> None:
    global _notify
    _notify = notify


def beat() -> None:
    _notify()
