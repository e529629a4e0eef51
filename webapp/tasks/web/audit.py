"""Writing the audit trail: one `record` call at each place a change happens.

An entry says who acted (the user, and the bearer token if one was used), through
what (browser, htmx, the JSON API, the admin, manage.py: `channel_of`, from the same
negotiation that picks the answer's form), from which address, and what was touched.
Called inside the change's transaction where it has one, so the entry and the change
commit or roll back together; where the change is a message to the workers (launch,
cancel), right after the change is confirmed, and only then.
"""

import getpass
import logging
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django_ratelimit.core import get_usage

from webapp.tasks.access import throttle  # (a module: access.login records failed logins here)
from webapp.tasks.models import (
    ApiToken,
    AuditAction,
    AuditChannel,
    AuditEntry,
    Schedule,
    TaskRecord,
    insert,
)
from webapp.tasks.web.representations import Answer, answer_for

logger = logging.getLogger(__name__)

# What a detail may hold from a client (a username tried, a filter): enough to read.
TEXT_LIMIT = 200

CHANNEL_OF_ANSWER = {
    Answer.PAGE: AuditChannel.BROWSER,
    Answer.FRAGMENT: AuditChannel.HTMX,
    Answer.JSON: AuditChannel.API,
}


def channel_of(request: HttpRequest | None) -> AuditChannel:
    """Through what a request came: no request is manage.py; the admin is itself;
    otherwise the form its answer takes (a bearer token's request is the API,
    whatever it accepts)."""
    if request is None:
        return AuditChannel.COMMAND
    if request.path.startswith(reverse("admin:index")):
        return AuditChannel.ADMIN
    if getattr(request, "auth_token", None) is not None:
        return AuditChannel.API
    return CHANNEL_OF_ANSWER[answer_for(request)]


def record(request: HttpRequest | None, action: AuditAction, **fields: Any) -> AuditEntry:
    """Write one entry for `action`, done by whoever made `request` (None: manage.py);
    `fields` as entry_for takes them. A bulk action is one entry:
    `record(request, AuditAction.BULK_CANCEL, count=n, filter=query_string)`."""
    written = entry_for(request, action, **fields)
    insert(written)  # (the prepared INSERT a submit uses: launches are the hot path)
    return written


def entry_for(
    request: HttpRequest | None,
    action: AuditAction,
    *,
    task: TaskRecord | UUID | str | None = None,
    count: int | None = None,
    queue: str = "",
    schedule: Schedule | int | None = None,
    token: ApiToken | None = None,
    **details: Any,
) -> AuditEntry:
    """The entry for `action` by whoever made `request` (None: manage.py), unsaved,
    touching `task`, `count` tasks, `queue`, `schedule` or `token`; `details` is any
    more JSON worth keeping (a bulk action's filter, a retry's new task). `record`
    writes it; a launch writes it in its own commit (TaskRecord.submit)."""
    entry = AuditEntry(action=action, channel=channel_of(request), details=details)
    if request is None:
        entry.details["os_user"] = _os_user()
    else:
        _set_actor(entry, request)
    if task is not None:
        entry.task_id = task.task_id if isinstance(task, TaskRecord) else UUID(str(task))
    entry.count = count
    entry.queue = queue
    if schedule is not None:
        entry.schedule_id = schedule.pk if isinstance(schedule, Schedule) else schedule
    if token is not None:
        entry.details["token"] = {
            "id": token.pk,
            "prefix": token.prefix,
            "name": token.name,
            "user": token.user.get_username(),
            "role": token.role,
        }
    return entry


def _set_actor(entry: AuditEntry, request: HttpRequest) -> None:
    entry.address = throttle.client_address(request)[:64]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        entry.user_id = user.pk
        entry.username = user.get_username()
    token: ApiToken | None = getattr(request, "auth_token", None)
    if token is not None:
        entry.token_id = token.pk
        entry.token_name = (token.name or token.prefix)[:120]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid, e.g. in a container
        return ""


def clipped(text: object) -> str:
    """Client-sent text as a detail: at most TEXT_LIMIT characters, and no NUL, which
    PostgreSQL's JSON refuses (a refused entry would turn a failed login into a 500)."""
    shown = str(text).replace("\x00", "\ufffd")
    return shown if len(shown) <= TEXT_LIMIT else shown[: TEXT_LIMIT - 1] + "…"


def record_failed_login(request: HttpRequest, username: object) -> None:
    """A login whose password (or username) was wrong. The login throttle bounds how
    many there can be from one address (a throttled attempt is refused unchecked)."""
    record(request, AuditAction.LOGIN_FAILED, username_tried=clipped(username))


def record_refused_token(request: HttpRequest, token: str, why: str) -> None:
    """A bearer token that was refused (unknown, revoked, expired). Nothing throttles
    these, so at most LOGIN_FAILURES_PER_ADDRESS of them are recorded per address and
    window, as many as failed logins: a flood of bad tokens can't fill the table."""
    rate = settings.LOGIN_FAILURES_PER_ADDRESS
    if rate.lower() not in ("", "off", "none"):
        try:
            usage = get_usage(
                request, group="audit-token-refused", key=_address_key, rate=rate, increment=True
            )
        except Exception:  # the cache is Redis: when it is down, record it anyway
            logger.warning("refused tokens not counted: cache unavailable", exc_info=True)
            usage = None
        if usage is not None and usage["should_limit"]:
            return
    # The first characters name a token as the admin does; the rest is secret.
    record(request, AuditAction.TOKEN_REFUSED, prefix=clipped(token[: ApiToken.SHOWN]), why=why)


def _address_key(group: str, request: HttpRequest) -> str:
    return throttle.client_address(request)
