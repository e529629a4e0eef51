"""Settings for the task dashboard, each read once from the environment.

Every knob has a default that is safe on a developer's machine. A deployment that
listens beyond loopback (GUNICORN_BIND) or serves any host other than loopback counts
as production and refuses to start on an unsafe value (no SECRET_KEY, DEBUG on).
"""

import os
import re
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from webapp.deployment import LOCAL_SECRET_KEY, binds_beyond_loopback

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    """The variable `name`, or the contents of the file named by `name`_FILE."""
    if file_name := os.environ.get(f"{name}_FILE"):
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}")
    return number


def env_float(name: str, default: float, minimum: float = 0.0) -> float:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from None
    if not number >= minimum:  # also rejects nan
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Deployment mode -------------------------------------------------------------

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Where gunicorn listens (gunicorn.conf.py reads it too, and its on_starting hook sets
# it to the addresses actually bound). Beyond loopback means others can connect,
# whatever Host header they send: production, as is serving a public host name.
GUNICORN_BIND = env_list("GUNICORN_BIND", ["127.0.0.1:1337"])
PUBLIC_BINDS = binds_beyond_loopback(GUNICORN_BIND)
PRODUCTION = bool(PUBLIC_BINDS) or not set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS
_WHY_PRODUCTION = (
    f"the server listens on {', '.join(PUBLIC_BINDS)} (GUNICORN_BIND)"
    if PUBLIC_BINDS
    else "ALLOWED_HOSTS names a public host"
)

DEBUG = env_bool("DEBUG", False)
if DEBUG and PRODUCTION:
    raise ImproperlyConfigured(f"DEBUG is on while {_WHY_PRODUCTION}; turn DEBUG off")

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY or SECRET_KEY == LOCAL_SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set to a secret of your own: "
            + _WHY_PRODUCTION
        )
    # Only ever served on loopback, so a fixed key signs nothing anyone else sees.
    SECRET_KEY = LOCAL_SECRET_KEY

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Application -----------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    # Periodic schedules live in its tables; beat reads them (DatabaseScheduler).
    "django_celery_beat",
    "webapp.tasks",
]

MIDDLEWARE = [
    # Before anything asks for the Host: probes connect by address (127.0.0.1).
    "webapp.tasks.web.middleware.HealthCheckMiddleware",
    # Outermost: drops document-only headers from 204/304 after the others add them.
    "webapp.tasks.web.middleware.BodilessResponseMiddleware",
    # Pages and fragments shrink about 6x. The CSRF token in them is masked afresh
    # for every response, which is what keeps compression from leaking it (BREACH).
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before the Host check, so a proxy's operator reads how to configure it (403).
    "webapp.tasks.access.ProxiedWithoutLoginMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "webapp.tasks.csrf.BrowserCsrfMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "webapp.tasks.access.BearerTokenMiddleware",
    "webapp.tasks.access.DashboardLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Before any view or login check, after everything its 400 needs (htmx, headers).
    "webapp.tasks.web.middleware.QueryLimitMiddleware",
    # Refuses a body whose Content-Length is over the limit. Last is early enough:
    # every middleware's __call__ runs before any process_view, where the CSRF check
    # reads the body; and here the 413 gets every header and the htmx form.
    "webapp.tasks.web.middleware.BodySizeLimitMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "webapp.tasks.web.context_processors.site_links",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
DATABASES: dict[str, dict[str, Any]] = {
    "default": dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dashboard read while a worker writes; IMMEDIATE transactions and
    # a busy timeout make concurrent writers wait their turn instead of failing.
    # Connections are kept (CONN_MAX_AGE above) like PostgreSQL's: opening one and
    # running its PRAGMAs cost more than a table poll's queries (see bench/).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Static files ----------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Internationalisation ----------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# --- Security --------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# HTTPS: on by default in production (what `check --deploy` asks for), each
# overridable, e.g. SECURE_SSL_REDIRECT=false for a demo on plain http://localhost.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# Container and load-balancer health checks ask over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
# Behind a TLS-terminating proxy, the header it sets to "https" (e.g.
# X-Forwarded-Proto). Only set it when that proxy always sets or strips the header.
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)
# security.W003 looks for CsrfViewMiddleware by its exact dotted path; MIDDLEWARE has
# webapp.tasks.csrf.BrowserCsrfMiddleware, a subclass that runs its full check for
# every browser request (tests/unit/test_deploy_checks.py holds that in place).
SILENCED_SYSTEM_CHECKS = ["security.W003"]
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "webapp.tasks.web.views.csrf_failure"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- Access --------------------------------------------------------------------------

# With login required, browsers sign in (Django's auth) and scripts send
# `Authorization: Bearer <token>` (`manage.py create_token USER`); users who are not
# staff see and steer only their own tasks. Off for a loopback-only deployment.
DASHBOARD_REQUIRE_LOGIN = env_bool("DASHBOARD_REQUIRE_LOGIN", PRODUCTION)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Django's four standard checks on passwords set through it (createsuperuser, admin).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Submissions per client (user, or address when anonymous): "<n>/<s|m|h>", or "off".
SUBMIT_RATE_LIMIT = env_str("SUBMIT_RATE_LIMIT", "120/m")
# Failed logins allowed per (account, address) and per address, "<n>/<k><s|m|h|d>"
# (e.g. 5/15m: five in a quarter of an hour), or "off"; then 429 until the window ends.
LOGIN_FAILURES_PER_ACCOUNT = env_str("LOGIN_FAILURES_PER_ACCOUNT", "5/15m")
LOGIN_FAILURES_PER_ADDRESS = env_str("LOGIN_FAILURES_PER_ADDRESS", "30/15m")
for _name, _rate in [
    ("LOGIN_FAILURES_PER_ACCOUNT", LOGIN_FAILURES_PER_ACCOUNT),
    ("LOGIN_FAILURES_PER_ADDRESS", LOGIN_FAILURES_PER_ADDRESS),
]:
    if _rate.lower() not in ("off", "none") and not re.fullmatch(r"[1-9]\d*/\d*[smhd]", _rate):
        raise ImproperlyConfigured(f"{_name}={_rate!r} is not a rate such as 5/15m, or off")
# How many proxies in front of gunicorn append to X-Forwarded-For (0: use the peer).
PROXY_COUNT = env_int("PROXY_COUNT", 0)
RATELIMIT_FAIL_OPEN = True  # a cache outage must not lock everyone out

# Bodies are a form field or a small JSON object; anything larger is refused (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
SUBMIT_MAX_BYTES = env_int("SUBMIT_MAX_BYTES", 16 * 1024, minimum=256)

# --- Celery (read by webapp/celery.py under the CELERY_ namespace) -----------------

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6380/0")
# Shared by every web process: the rate limits count here, live fragments are kept
# here. Entries are JSON, never pickles: reading one can't run code; and each process
# keeps one Redis client instead of building one per call (json_cache.py).
CACHES = {
    "default": {
        "BACKEND": "webapp.json_cache.SharedClientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "dashboard",
        "OPTIONS": {
            "socket_connect_timeout": 1,
            "socket_timeout": 1,
            "serializer": "webapp.json_cache.JsonSerializer",
        },
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# Events let Flower list queued and running tasks, not only finished ones.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_TASK_TRACK_STARTED = True
# A task is acknowledged when it finishes, so a worker that dies mid-task gives it
# back to the queue; one task at a time per process keeps queued tasks visible as
# PENDING instead of hidden in a worker's prefetch buffer.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Tasks go to their kind's queue (catalogue/kinds.py: "cpu" for CPU-heavy work), everything
# else here; workers say which they serve with -Q (Procfile, compose.yaml).
CELERY_TASK_DEFAULT_QUEUE = "default"
# Durations of the task kinds are multiplied by this; tests and demos use < 1.
TASK_TIME_SCALE = env_float("TASK_TIME_SCALE", 1.0)
# A task still running after this many seconds is killed and ends FAILURE.
TASK_TIME_LIMIT = env_int("TASK_TIME_LIMIT", int(120 * max(TASK_TIME_SCALE, 1.0)), minimum=1)
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT
# A message delivered to a worker that then vanished as a whole goes back to the
# queue after this long. A running task's message stays unacknowledged, so a
# timeout within the time limit would hand a running task to a second worker:
# refused below. Meanwhile a live worker runs such a task again (running/workers.py) and
# the late redelivery is skipped. Redis looks for such messages every 10 s (the
# throttle would make that 100 s).
BROKER_VISIBILITY_TIMEOUT = env_int("BROKER_VISIBILITY_TIMEOUT", 3600, minimum=1)
if BROKER_VISIBILITY_TIMEOUT <= TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"BROKER_VISIBILITY_TIMEOUT={BROKER_VISIBILITY_TIMEOUT} must exceed "
        f"TASK_TIME_LIMIT={TASK_TIME_LIMIT}: Redis would hand a task still running "
        "to a second worker."
    )
# Every call to Redis gives up after this many seconds, so a half-open connection
# makes a submit answer 503 instead of hanging until gunicorn kills its worker.
BROKER_SOCKET_TIMEOUT = env_float("BROKER_SOCKET_TIMEOUT", 2.0, minimum=0.1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    "unacked_restore_throttle": 1,
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
    "socket_connect_timeout": BROKER_SOCKET_TIMEOUT,
}
CELERY_REDIS_SOCKET_TIMEOUT = BROKER_SOCKET_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = BROKER_SOCKET_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Publishing gives up within a few seconds so a submit can answer 503 quickly.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A PENDING task whose message is not known to have reached Redis this long after
# it was submitted is queued again (webapp/tasks/orphans.py).
ORPHAN_AFTER_SECONDS = env_float("ORPHAN_AFTER_SECONDS", 30.0, minimum=1.0)

# --- Retention -------------------------------------------------------------------

# Finished tasks (with their timelines) older than this many days are deleted by the
# retention job; "0" or "off" keeps them forever. Pending and running tasks are never
# deleted, however old.
_RETENTION = env_str("TASK_RETENTION_DAYS", "30").strip().lower()
TASK_RETENTION_DAYS = 0 if _RETENTION == "off" else env_int("TASK_RETENTION_DAYS", 30)
# How often celery beat runs the job (webapp/tasks/running/retention.py), which also drops the
# rows of workers unseen for a day and expired sessions.
RETENTION_INTERVAL_SECONDS = env_float("RETENTION_INTERVAL_SECONDS", 3600.0, minimum=1.0)
# Where the CSV export writes its files (created when missing); web and workers must
# share it. A file goes when its task is deleted, by the dashboard or retention.
EXPORT_DIR = Path(env_str("EXPORT_DIR", str(BASE_DIR / "var" / "exports")))
CELERY_IMPORTS = [
    "webapp.tasks.running.retention",
    "webapp.tasks.running.schedules",
    "webapp.tasks.catalogue.demo",
]
# Beat reads its schedule from the database (django-celery-beat), so schedules made in
# the dashboard or the admin take effect without a restart; the entries below are
# copied into those tables when beat starts.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "apply-retention": {
        "task": "tasks.apply_retention",
        "schedule": RETENTION_INTERVAL_SECONDS,
    },
}
# "Clear finished tasks" deletes for at most this long per request (gunicorn's timeout
# is 30 s); what is left, it answers 202 and the page carries on.
CLEAR_TIME_BUDGET_SECONDS = env_float("CLEAR_TIME_BUDGET_SECONDS", 10.0, minimum=0.1)

# --- Dashboard -----------------------------------------------------------------------

DASHBOARD_PAGE_SIZE = env_int("DASHBOARD_PAGE_SIZE", 25, minimum=1)
# Seconds between table polls while a task is active, and while nothing is.
POLL_ACTIVE_SECONDS = env_float("POLL_ACTIVE_SECONDS", 1.0, minimum=0.2)
POLL_IDLE_SECONDS = env_float("POLL_IDLE_SECONDS", 5.0, minimum=0.2)
FLOWER_URL = env_str("FLOWER_URL", "http://127.0.0.1:5555")

# --- Logging ---------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "filters": {"without_traceback": {"()": "webapp.log_filters.WithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "refusals": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["without_traceback"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # A request for a host we don't serve is refused with a 400 and one line.
        "django.security.DisallowedHost": {
            "handlers": ["refusals"],
            "level": "WARNING",
            "propagate": False,
        },
    },
}
