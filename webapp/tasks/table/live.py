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
import zlib
from collections import OrderedDict
from datetime import datetime
from functools import cache, lru_cache
from threading import Lock
from typing import Any

from django.core.cache import cache as shared_cache
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import re_accepts_gzip
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from webapp.tasks.models import Status, TaskEvent
from webapp.tasks.table.query import (
    TableQuery,
    dashboard_context,
    filters_context,
    snapshot,
)

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
    request: HttpRequest, query: TableQuery, version: str, since: str | None = None
) -> tuple[dict[str, Any], datetime | None]:
    """The table with its out-of-band counters, workers and charts, rendered once per
    version (`version`: the query's poll_version): {"version", "html", "tasks":
    {"pk": label}, "first_seen": ISO 8601}; and when the poller's own version `since`
    was first rendered (None if unknown), to announce what changed since. From this
    process's memory when it read them lately, else in one round trip to Redis."""
    origin = f"{request.scheme}://{request.get_host()}"
    key = f"live:{version}:{origin}"
    seen_key = f"live-seen:{since}"
    keys = [key, seen_key] if since else [key]
    found = {k: v for k in keys if (v := _kept(k)) is not None}
    if missing := [k for k in keys if k not in found]:
        found |= _cache_get_many(missing)
        for k in missing:
            if k in found:
                _keep(k, found[k])
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
        _keep(f"live:{snap.version}:{origin}", entry)
        # The first render of a version, from whichever origin, says when it was seen.
        _cache_set(f"live-seen:{snap.version}", entry["first_seen"], only_if_new=True)
    return entry, _moment(found.get(seen_key))


# The entries this process read or rendered last. A version names its content and a
# first-seen time never changes once written, so a copy in memory can't go stale:
# a dashboard's poll answered here costs no round trip to Redis and no decoding of
# the ~40 KB entry. (Only what Redis said is kept: a first-seen time this process
# offered with SET NX may have lost to another process's.)
KEPT_ENTRIES = 32
_kept_entries: OrderedDict[str, Any] = OrderedDict()
_kept_announcements: OrderedDict[tuple[str, str, str], list[str]] = OrderedDict()
_kept_lock = Lock()


def _kept(key: str) -> Any:
    with _kept_lock:
        value = _kept_entries.get(key)
        if value is not None:
            _kept_entries.move_to_end(key)
        return value


def _keep(key: str, value: Any) -> None:
    with _kept_lock:
        _kept_entries[key] = value
        while len(_kept_entries) > KEPT_ENTRIES:
            _kept_entries.popitem(last=False)


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def announcements(
    entry: dict[str, Any], since: datetime | None, since_version: str | None = None
) -> list[str]:
    """Status changes of the visible tasks since the poller's previous version, for
    the aria-live region (screen readers say them; the table shows them).

    Every dashboard that moves from `since_version` to the entry's version hears the
    same news, so that is looked up once per process and kept (later events belong
    to a later version, and are announced on the way to it)."""
    if since is None:
        return []
    key = (since_version, entry["version"], entry["first_seen"]) if since_version else None
    if key is not None:
        with _kept_lock:
            if (heard := _kept_announcements.get(key)) is not None:
                return heard
    labels = {int(pk): label for pk, label in entry["tasks"].items()}
    events = TaskEvent.objects.filter(task_id__in=labels, at__gt=since).order_by("at")[:5]
    lines = [f"Task {labels[e.task_id]} {Status(e.status).label}." for e in events]
    if key is not None:
        with _kept_lock:
            _kept_announcements[key] = lines
            while len(_kept_announcements) > KEPT_ENTRIES:
                _kept_announcements.popitem(last=False)
    return lines


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


# --- Compressed once per version ---------------------------------------------------
# A browser asks for gzip, and GZipMiddleware would compress the whole fragment
# (tens of KB) again for every dashboard and every poll: about as long as the rest
# of a cached poll. The shared part is the same bytes for every dashboard, so each
# process compresses it once per version and keeps the compressor's state; each
# answer then compresses only its own few hundred bytes on a copy of that state.
# One gzip stream either way. BREACH needs a secret in the compressed bytes, and
# these hold none: the shared part nothing per user (see the module docstring and
# test_table_poll), the announcer and the filter form no token (a GET form), the
# messages only what the user was told.

COMPRESSED_VERSIONS = 8  # each compressor state holds about 300 KB
# Keyed by the render (version, origin and when it was rendered), not by the
# version alone: two renders of one version differ in the charts' "up to" time.
_compressed: OrderedDict[tuple[str, str, str], tuple[bytes, Any]] = OrderedDict()
_compressed_lock = Lock()


def response(
    request: HttpRequest, entry: dict[str, Any], own: list[str], status: int
) -> HttpResponse:
    """The live fragment's answer: the shared part, then this request's own parts,
    gzipped from the kept state when the client accepts it."""
    if not re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        return HttpResponse(entry["html"] + "".join(own), status=status)
    prefix, shared = _compressed_shared(entry, f"{request.scheme}://{request.get_host()}")
    answer = shared.copy()
    body = prefix + answer.compress("".join(own).encode()) + answer.flush()
    compressed = HttpResponse(body, status=status)
    compressed["Content-Encoding"] = "gzip"  # GZipMiddleware leaves it as it is
    patch_vary_headers(compressed, ["Accept-Encoding"])
    return compressed


def _compressed_shared(entry: dict[str, Any], origin: str) -> tuple[bytes, Any]:
    key = (entry["version"], origin, entry["first_seen"])
    with _compressed_lock:
        if (kept := _compressed.get(key)) is not None:
            _compressed.move_to_end(key)
            return kept
    shared = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # a gzip stream
    kept = (shared.compress(entry["html"].encode()), shared)
    with _compressed_lock:
        _compressed[key] = kept
        while len(_compressed) > COMPRESSED_VERSIONS:
            _compressed.popitem(last=False)
    return kept
