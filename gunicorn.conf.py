"""gunicorn settings, each overridable from the environment (GUNICORN_*), and the
check that refuses to expose an open dashboard (on_starting)."""

import multiprocessing
import os
import sys
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:1337")
workers = int(os.environ.get("GUNICORN_WORKERS", min(4, multiprocessing.cpu_count() + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# Refuse absurd request lines and headers before Django sees them.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190
# The runtime control socket is shared per user by default; several servers on one
# machine (tests, benchmarks, `make run`) would fight over it, and nothing uses it.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Before any socket is bound: a server reachable beyond loopback starts only with
    login required and a SECRET_KEY of its own, or exits saying what to set.

    The settings are told the real addresses (`--bind` on the command line wins over
    GUNICORN_BIND), so their defaults follow them: production mode, login on. They
    are loaded here, in the master, so workers fork with the same decision.
    """
    from django.core.exceptions import ImproperlyConfigured

    from webapp.deployment import exposure_refusal

    binds = list(server.cfg.bind)
    os.environ["GUNICORN_BIND"] = ",".join(binds)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    from django.conf import settings

    try:
        refusal = exposure_refusal(binds, settings.DASHBOARD_REQUIRE_LOGIN, settings.SECRET_KEY)
    except ImproperlyConfigured as exc:
        refusal = f"Refusing to start: {exc}"
    if refusal:
        server.log.error(refusal)
        sys.exit(1)


def post_worker_init(worker: Any) -> None:
    """A streamed download beats this worker's heartbeat as it goes (webapp/heartbeat.py),
    so that `timeout` ends a stuck worker, not a long export that is making progress."""
    from webapp import heartbeat

    heartbeat.install(worker.notify)
