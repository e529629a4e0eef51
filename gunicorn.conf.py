"""gunicorn settings, each overridable from the environment (GUNICORN_*)."""

import multiprocessing
import os

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
