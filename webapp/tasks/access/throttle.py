"""Rate limits: the client's address (behind PROXY_COUNT proxies), and the
submission rate limit per user or address."""

import logging

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer, or what the PROXY_COUNT-th proxy saw."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.PROXY_COUNT:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(hops) >= settings.PROXY_COUNT:
            address = hops[-settings.PROXY_COUNT]
    return str(address)


def client_key(group: str, request: HttpRequest) -> str:
    """Who a submission counts against: the user, else the client's address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"addr:{client_address(request)}"


def seconds_until_allowed(request: HttpRequest) -> int | None:
    """Count one submission; None if allowed, else seconds until the next one is."""
    rate = settings.SUBMIT_RATE_LIMIT
    if rate.lower() in ("", "off", "none"):
        return None
    try:
        usage = get_usage(request, group="submit", key=client_key, rate=rate, increment=True)
    except Exception:  # the cache is Redis: when it is down, let submissions through
        logger.warning("rate limit not checked: cache unavailable", exc_info=True)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


# --- Login throttle ------------------------------------------------------------------
# Failed logins are counted per (account, address) and per address, never per account
# alone: a stranger guessing a user's password from elsewhere fills only their own
# buckets, so the user can still log in from their own address.
