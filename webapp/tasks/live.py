"""The live fragment that every open dashboard polls, rendered once per version.

A changed table is the same for every dashboard that shows the same filters, so it
is rendered once and kept in the shared cache (Redis) under its version: hundreds
of dashboards polling a changing table cost one render per change, not one per
dashboard. What differs per request is added around it: the screen-reader
announcements (which depend on what this dashboard saw last) and, on navigation,
the filter form. The shared part therefore holds nothing per user: no CSRF token
(htmx sends it as a header from <body hx-headers>), no user name; the version
covers the filters and the owner, the key the scheme and host.
"""

import logging
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from django.core.cache import cache as shared_cache
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from webapp.tasks.dashboard import (
    TableQuery,
    dashboard_context,
    filters_context,
    poll_version,
    snapshot,
)
from webapp.tasks.models import Status, TaskEvent

logger = logging.getLogger(__name__)

# A version names its content, so an entry never goes stale; it only needs to
# outlive the polls that ask for it.
KEEP_SECONDS = 120


def _cache_get_many(keys: list[str]) -> dict[str, Any]:
    try:
        return shared_cache.get_many(keys)
    except Exception:  # Redis down, or an entry that is not JSON: render, as on a miss
        logger.warning("live fragment cache unavailable", exc_info=True)
        return {}


def _cache_set(key: str, value: Any, only_if_new: bool = False) -> None:
    try:
        if only_if_new:
            shared_cache.add(key, value, KEEP_SECONDS)
        else:
            shared_cache.set(key, value, KEEP_SECONDS)
    except Exception:
        logger.warning("live fragment cache unavailable", exc_info=True)


def shared_fragment(
    request: HttpRequest, query: TableQuery, since: str | None = None
) -> tuple[dict[str, Any], datetime | None]:
    """The table with its out-of-band counters, workers and charts, rendered once per
    version: {"version", "html", "tasks": {"pk": label}, "first_seen": ISO 8601}; and
    when the poller's own version `since` was first rendered (None if unknown), to
    announce what changed since. One round trip to Redis when the entry is there."""
    origin = f"{request.scheme}://{request.get_host()}"
    key = f"live:{poll_version(query)}:{origin}"
    seen_key = f"live-seen:{since}"
    found = _cache_get_many([key, seen_key] if since else [key])
    entry = found.get(key)
    if entry is None:
        # Taken before the snapshot: any change after it is announced to the next poll.
        read_at = timezone.now()
        snap = snapshot(query)  # its version may be newer than the one just looked up
        context = dashboard_context(snap) | {"fragment": True, "request": request}
        # JSON-shaped (the cache stores JSON): keys are strings, moments ISO 8601.
        entry = {
            "version": snap.version,
            "html": render_to_string("dashboard.html#live", context),
            "tasks": {str(t.id): f"{t.short_id} ({t.get_kind_display()})" for t in snap.page.tasks},
            "first_seen": read_at.isoformat(),
        }
        _cache_set(f"live:{snap.version}:{origin}", entry)
        # The first render of a version, from whichever origin, says when it was seen.
        _cache_set(f"live-seen:{snap.version}", entry["first_seen"], only_if_new=True)
    return entry, _moment(found.get(seen_key))


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def announcements(entry: dict[str, Any], since: datetime | None) -> list[str]:
    """Status changes of the visible tasks since the poller's previous version, for
    the aria-live region (screen readers say them; the table shows them)."""
    if since is None:
        return []
    labels = {int(pk): label for pk, label in entry["tasks"].items()}
    events = TaskEvent.objects.filter(task_id__in=labels, at__gt=since).order_by("at")[:5]
    return [f"Task {labels[e.task_id]} {Status(e.status).label}." for e in events]


def announcer(lines: list[str]) -> str:
    """The aria-live region, out of band: these lines, or emptied."""
    if not lines:
        return _quiet_announcer()
    return render_to_string("dashboard.html#announcer", {"announcements": lines, "oob": True})


@cache
def _quiet_announcer() -> str:
    # Most polls announce nothing: the same few bytes every time.
    return render_to_string("dashboard.html#announcer", {"announcements": [], "oob": True})


@lru_cache(maxsize=256)
def filters_form(query: TableQuery) -> str:
    """The filter form showing the query's values, out of band. It holds nothing but
    the query (a GET form: no CSRF token), so it is rendered once per query."""
    return render_to_string("dashboard.html#filters", filters_context(query) | {"oob": True})
