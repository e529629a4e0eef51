"""The dashboard page (GET / for a browser), rendered once and filled in per response.

The page is the same for every request that shows the same table in the same state,
but for a few values that must be each response's own: the CSRF token (masked afresh
for every response, which is what keeps BREACH away from a compressed page), the CSP
nonce, the reader's name in the header, and the JSON link (it repeats the request's
own parameters). So the page is rendered once with a random marker in each of those
places, kept in this process's memory, and each response joins the pieces with its
own values: while nothing changed, no query but one and no template runs.

"Nothing changed" is the database's stamp (`query.database_stamp`: no other
connection committed, this one wrote nothing, the workers are not due a check) on
SQLite; when it moved (workers write heartbeats every 2 s), or on other databases,
the table's version (what the live fragment is cached by) unchanged; and the same
minute (the charts' hour moves with the clock). When only numbers moved - running
tasks' progress, the status counts, the queues' depths - a page known current less
than POLL_ACTIVE_SECONDS ago, whose live table polls at that pace, is served as it
is: its first poll brings them. A busy hour, whose running tasks, finishing tasks and
draining queues move them many times a second, then costs a render a second per
process, not one per load. Anything else - a row that came or went, a worker, a
pause, a slower-than-usual mark - shows at once.

The key holds the query, and with it the owner scope; the scheme and host; and
whether someone is logged in. So a page never crosses owners, and the name in it is
always the reader's own. A request that brings messages (after a plain form's
redirect) renders in full: they are shown once; so does one inside a transaction,
whose writes the stamp cannot see rolled back.
"""

import secrets
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape

from webapp.tasks.catalogue.entries import entry_of
from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.table.query import (
    TableQuery,
    dashboard_context,
    database_stamp,
    snapshot,
    table_state,
)
from webapp.tasks.web.context_processors import site_links

# The per-response values, by the name the templates know them by.
SLOTS = ("csrf_token", "csp_nonce", "username", "json_url")
# A page known current this recently is served as it is when only numbers moved
# since (progress, counts, queue depths): a busy hour moves them many times a
# second, and the live table in such a page polls at this pace anyway.
FRESH_SECONDS = settings.POLL_ACTIVE_SECONDS
# Pages kept per process (~50 KB each); plain dict operations, safe in threaded servers.
KEEP = 64


@dataclass(frozen=True)
class Shell:
    """A rendered page cut at its per-response values."""

    stamp: object  # the database's stamp when it was last known current (SQLite)
    version: str  # the table's version it shows (query.version_of)
    shape: str  # and its shape (query.shape_of: the same but for the moving numbers)
    active: bool  # its live table polls at the active pace (POLL_ACTIVE_SECONDS)
    minute: int
    checked_at: float  # time.monotonic() when it was last known current
    pieces: tuple[bytes, ...]  # markup, slot name, markup, ..., markup (UTF-8)
    # The stamp at which it was last found to differ by numbers alone (served as it
    # is while fresh): the same stamp again needs no second look.
    compared: object = None

    def fresh(self, now: float) -> bool:
        """Known current less than a poll of its live table ago."""
        return now - self.checked_at < FRESH_SECONDS

    def fill(self, values: dict[str, str]) -> bytes:
        encoded = {name.encode(): value.encode() for name, value in values.items()}
        pieces = list(self.pieces)
        pieces[1::2] = [encoded[name] for name in pieces[1::2]]
        return b"".join(pieces)


_shells: dict[tuple[Any, ...], Shell] = {}


def launch_context() -> dict[str, object]:
    return {
        "launchers": [
            {
                "value": kind.value,
                "label": kind.label,
                "has_params": bool(entry_of(kind).params),
                "title": kind.title,
                "description": kind.description,
                "seconds": kind.scaled_seconds,
            }
            for kind in Kind
        ],
    }


def full_page(request: HttpRequest, query: TableQuery, status: int = 200) -> HttpResponse:
    """The page rendered for this request alone, as every page once was."""
    context = dashboard_context(snapshot(query)) | launch_context()
    return render(request, "dashboard.html", context, status=status)


def dashboard_page(request: HttpRequest, query: TableQuery) -> HttpResponse:
    authenticated = bool(request.user.is_authenticated)
    key = (query, query.owner, request.scheme, request.get_host(), authenticated)
    nonce = get_nonce(request)
    # Inside a transaction the page could show writes that are then rolled back, and
    # the stamp would not move: render those in full, as messages (shown once).
    if nonce is None or connection.in_atomic_block or len(get_messages(request)):
        # Messages follow an action: the reload after it must not show the table
        # from before it, however recently that was checked.
        _shells.pop(key, None)
        return full_page(request, query)
    minute = int(time.time() // 60)
    now = time.monotonic()
    shell = _shells.get(key)
    # Taken before the page reads anything: whatever changes after moves it.
    stamp = database_stamp()
    if shell is None or shell.minute != minute:
        shell = render_shell(request, query, authenticated, stamp, minute)
    elif stamp is not None and shell.stamp == stamp:
        pass  # nothing committed since the page was known current
    elif stamp is not None and shell.compared == stamp and shell.fresh(now):
        pass  # nothing committed since only numbers were found to have moved
    else:
        version, shape = table_state(query)
        if version == shell.version:
            # Something was committed (a worker's heartbeat every 2 s, a task not on
            # this page), and the page shows none of it.
            shell = replace(shell, stamp=stamp, checked_at=now)
        elif shape == shell.shape and shell.active and shell.fresh(now):
            # Only numbers moved, and the page is younger than a poll of the live
            # table it carries: served as it is (it stays unconfirmed), and so are
            # the loads that come before the next commit, without looking again.
            shell = replace(shell, compared=stamp)
        else:
            shell = render_shell(request, query, authenticated, stamp, minute)
    if len(_shells) >= KEEP and key not in _shells:
        _shells.clear()  # one per filter, page and reader kind in use: rarely reached
    _shells[key] = shell
    return filled(request, shell, nonce, authenticated)


def filled(request: HttpRequest, shell: Shell, nonce: object, authenticated: bool) -> HttpResponse:
    user = request.user
    html = shell.fill(
        {
            "csrf_token": get_token(request),  # masked afresh: one per response
            "csp_nonce": str(nonce),
            "username": escape(user.get_username()) if authenticated else "",
            "json_url": escape(site_links(request)["json_url"]),
        }
    )
    return HttpResponse(html)


def render_shell(
    request: HttpRequest, query: TableQuery, authenticated: bool, stamp: object, minute: int
) -> Shell:
    checked_at = time.monotonic()  # before anything is read
    # A random marker per render: task output shown in the page cannot forge a slot.
    marker = secrets.token_hex(8)
    slot = {name: f"{marker}{name}{marker}" for name in SLOTS}
    snap = snapshot(query)
    context = (
        dashboard_context(snap)
        | launch_context()
        | {
            # Rendered without the request's context processors: each of their
            # per-request values is a slot here, filled by every response.
            "request": request,
            "csrf_token": slot["csrf_token"],
            "csp_nonce": slot["csp_nonce"],
            "user": SimpleNamespace(is_authenticated=authenticated, get_username=slot["username"]),
            "messages": (),
            "json_url": slot["json_url"],
            "flower_url": settings.FLOWER_URL,
        }
    )
    pieces = render_to_string("dashboard.html", context).split(marker)
    if len(pieces) % 2 == 0 or not set(pieces[1::2]) <= set(SLOTS):
        raise ValueError("a page slot was altered while rendering")
    # Kept encoded: a response then joins bytes instead of encoding 50 KB each time.
    pieces_utf8 = tuple(p.encode() for p in pieces)
    return Shell(
        stamp=stamp,
        version=snap.version,
        shape=snap.shape,
        active=snap.active,
        minute=minute,
        checked_at=checked_at,
        pieces=pieces_utf8,
    )
