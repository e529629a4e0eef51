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
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from webapp.tasks.dashboard import TableQuery, dashboard_context, poll_version, snapshot
from webapp.tasks.models import Status, TaskEvent

logger = logging.getLogger(__name__)

# A version names its content, so an entry never goes stale; it only needs to
# outlive the polls that ask for it.
KEEP_SECONDS = 120


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # Redis down: render instead, as if nothing were cached
        logger.warning("live fragment cache unavailable", exc_info=True)
        return None


def _cache_set(key: str, value: Any) -> None:
    try:
        cache.set(key, value, KEEP_SECONDS)
    except Exception:
        logger.warning("live fragment cache unavailable", exc_info=True)


def shared_fragment(request: HttpRequest, query: TableQuery) -> dict[str, Any]:
    """The table with its out-of-band counters, workers and charts, rendered once per
    version: {"version", "html", "tasks": {"pk": label}, "first_seen": ISO 8601}."""
    origin = f"{request.scheme}://{request.get_host()}"
    entry = _cache_get(f"live:{poll_version(query)}:{origin}")
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
    return dict(entry)


def first_seen(version: str | None) -> datetime | None:
    """When a version was first rendered, to announce what changed since."""
    if not version:
        return None
    entry = _cache_get(f"live-seen:{version}")
    try:
        return datetime.fromisoformat(entry) if isinstance(entry, str) else None
    except ValueError:
        return None


def remember_first_seen(entry: dict[str, Any]) -> None:
    if _cache_get(f"live-seen:{entry['version']}") is None:
        _cache_set(f"live-seen:{entry['version']}", entry["first_seen"])


def announcements(entry: dict[str, Any], since: datetime | None) -> list[str]:
    """Status changes of the visible tasks since the poller's previous version, for
    the aria-live region (screen readers say them; the table shows them)."""
    if since is None:
        return []
    labels = {int(pk): label for pk, label in entry["tasks"].items()}
    events = TaskEvent.objects.filter(task_id__in=labels, at__gt=since).order_by("at")[:5]
    return [f"Task {labels[e.task_id]} {Status(e.status).label}." for e in events]
