"""Where the web server listens, and what that demands before it may start.

A server that listens beyond loopback (0.0.0.0, ::, a routable address, a unix
socket that a reverse proxy may front, an inherited file descriptor) can be reached
by others, so it is a production deployment whatever ALLOWED_HOSTS says: the Host
header is chosen by the client, the listening address is not. Read by the settings
(production mode's default) and by gunicorn.conf.py (the refusal to start); no
Django import here, so gunicorn can use it before Django is set up.
"""

from collections.abc import Iterable

# Signs sessions only for a server nobody else can reach.
LOCAL_SECRET_KEY = "local-only-insecure-key-set-SECRET_KEY-for-any-public-deployment"  # noqa: S105

LOOPBACK_NAMES = {"localhost", "::1"}


def is_loopback_bind(bind: str) -> bool:
    """Whether a gunicorn bind (`host:port`, `[v6]:port`, `unix:path`, `fd://n`)
    can only be reached from this machine."""
    bind = bind.strip().lower()
    if bind.startswith(("unix:", "fd://")):
        return False
    bind = bind.removeprefix("tcp://")
    if bind.startswith("["):
        host = bind[1:].split("]", 1)[0]
    else:
        host = bind.rsplit(":", 1)[0] if ":" in bind else bind
    return host in LOOPBACK_NAMES or host.startswith("127.")


def binds_beyond_loopback(binds: Iterable[str]) -> list[str]:
    return [bind for bind in binds if not is_loopback_bind(bind)]


def exposure_refusal(binds: Iterable[str], require_login: bool, secret_key: str) -> str | None:
    """Why a server listening on `binds` must not start with these settings, or None."""
    exposed = binds_beyond_loopback(binds)
    if not exposed:
        return None
    where = ", ".join(bind.removeprefix("unix:") for bind in exposed)
    reasons = []
    if not require_login:
        reasons.append(
            "DASHBOARD_REQUIRE_LOGIN=true (anyone who reaches it could launch and delete tasks)"
        )
    if not secret_key or secret_key == LOCAL_SECRET_KEY:
        reasons.append("a SECRET_KEY of your own (the local default is public)")
    if not reasons:
        return None
    return (
        f"Refusing to start: gunicorn would listen on {where}, which others can reach, "
        f"so it needs {' and '.join(reasons)}. Set them in the environment, or bind "
        "127.0.0.1 (GUNICORN_BIND=127.0.0.1:1337) to keep the dashboard to this machine."
    )
