"""A dashboard reachable beyond loopback requires login and a real secret; the
decision comes from where gunicorn listens, never from a header a client sends."""

import os
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from conftest import BIN, ROOT, Stack


def start_gunicorn(bind: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run gunicorn as the image does; a refusal exits at once, before binding."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "GUNICORN_BIND", "DASHBOARD_REQUIRE_LOGIN")
    }
    try:
        return subprocess.run(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", bind,
             "--workers", "1", "webapp.wsgi"],
            cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=20,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"gunicorn started on {bind} instead of refusing") from exc


@pytest.fixture
def socket_path() -> Path:
    # A unix socket is what a reverse proxy would front: it counts as beyond loopback,
    # and binding one in a private directory exposes nothing while testing.
    return Path(tempfile.mkdtemp(prefix="dashboard-bind-")) / "web.sock"


def test_a_socket_a_proxy_may_front_without_a_secret_key_is_refused(socket_path: Path) -> None:
    result = start_gunicorn(f"unix:{socket_path}")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert not socket_path.exists()


def test_a_socket_a_proxy_may_front_with_login_off_is_refused(socket_path: Path) -> None:
    result = start_gunicorn(
        f"unix:{socket_path}", SECRET_KEY="k" * 50, DASHBOARD_REQUIRE_LOGIN="false"
    )

    assert result.returncode != 0
    assert "DASHBOARD_REQUIRE_LOGIN=true" in result.stderr
    assert str(socket_path) in result.stderr
    assert not socket_path.exists()


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "203.0.113.7"},
        {"Forwarded": "for=203.0.113.7;proto=https"},
        {"X-Real-IP": "203.0.113.7"},
    ],
)
def test_a_proxied_request_to_a_dashboard_without_login_is_refused(
    stack: Stack, header: dict[str, str]
) -> None:
    response = httpx.get(
        f"{stack.url}/tasks/", headers={"Accept": "application/json", "Host": "127.0.0.1", **header}
    )

    assert response.status_code == 403
    assert "DASHBOARD_REQUIRE_LOGIN=true" in response.json()["error"]


def test_a_direct_request_to_a_dashboard_without_login_is_served(stack: Stack) -> None:
    assert httpx.get(f"{stack.url}/tasks/").status_code == 200
