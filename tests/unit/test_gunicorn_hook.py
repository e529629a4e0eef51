"""gunicorn.conf.py's on_starting hook: a server reachable beyond loopback starts
only with login required and a real SECRET_KEY."""

import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_django import Settings

from webapp.deployment import LOCAL_SECRET_KEY

CONFIG = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


class FakeLog:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, message: str, *args: Any) -> None:
        self.errors.append(message % args if args else message)


class FakeArbiter:
    """What the hook reads of gunicorn's arbiter: its configuration and its log."""

    def __init__(self, *binds: str) -> None:
        self.cfg = type("Cfg", (), {"bind": list(binds)})()
        self.log = FakeLog()


@pytest.fixture
def on_starting(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeArbiter], None]:
    # The hook tells the settings where the server listens; keep that to this test.
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:1337")
    hook: Callable[[FakeArbiter], None] = runpy.run_path(str(CONFIG))["on_starting"]
    return hook


@pytest.fixture
def safe(settings: Settings) -> Settings:
    settings.DASHBOARD_REQUIRE_LOGIN = True
    settings.SECRET_KEY = "k" * 50
    return settings


@pytest.mark.parametrize("bind", ["127.0.0.1:1337", "localhost:8000", "[::1]:1337"])
def test_loopback_starts_even_with_login_off(
    on_starting: Callable[[FakeArbiter], None], settings: Settings, bind: str
) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = False
    settings.SECRET_KEY = LOCAL_SECRET_KEY
    arbiter = FakeArbiter(bind)

    on_starting(arbiter)

    assert arbiter.log.errors == []


@pytest.mark.parametrize(
    "bind", ["0.0.0.0:1337", "[::]:1337", "192.168.1.10:80", "unix:/run/dashboard.sock", ":1337"]
)
def test_beyond_loopback_with_login_off_is_refused(
    on_starting: Callable[[FakeArbiter], None], safe: Settings, bind: str
) -> None:
    safe.DASHBOARD_REQUIRE_LOGIN = False
    arbiter = FakeArbiter("127.0.0.1:1337", bind)

    with pytest.raises(SystemExit) as exit_:
        on_starting(arbiter)

    assert exit_.value.code == 1
    (message,) = arbiter.log.errors
    assert "DASHBOARD_REQUIRE_LOGIN=true" in message
    assert bind.removeprefix("unix:") in message


def test_beyond_loopback_with_the_local_secret_key_is_refused(
    on_starting: Callable[[FakeArbiter], None], safe: Settings
) -> None:
    safe.SECRET_KEY = LOCAL_SECRET_KEY
    arbiter = FakeArbiter("0.0.0.0:1337")

    with pytest.raises(SystemExit):
        on_starting(arbiter)

    assert "SECRET_KEY" in arbiter.log.errors[0]


def test_beyond_loopback_with_login_and_a_secret_starts(
    on_starting: Callable[[FakeArbiter], None], safe: Settings
) -> None:
    arbiter = FakeArbiter("0.0.0.0:1337")

    on_starting(arbiter)

    assert arbiter.log.errors == []
