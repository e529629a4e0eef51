"""Settings refuse to start a public deployment on unsafe values."""

import os
import subprocess
import sys

import pytest

DECIDED_HERE = ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "GUNICORN_BIND", "DASHBOARD_REQUIRE_LOGIN")


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings with `env`; stdout is `PRODUCTION DASHBOARD_REQUIRE_LOGIN`."""
    clean = {k: v for k, v in os.environ.items() if k not in DECIDED_HERE}
    show = "import webapp.settings as s; print(s.PRODUCTION, s.DASHBOARD_REQUIRE_LOGIN)"
    return subprocess.run(
        [sys.executable, "-c", show],
        env=clean | env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_local_defaults_start() -> None:
    result = load_settings()

    assert result.returncode == 0
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("bind", ["0.0.0.0:1337", "[::]:1337", "unix:/run/web.sock"])
def test_a_bind_beyond_loopback_is_production_whatever_allowed_hosts_says(bind: str) -> None:
    refused = load_settings(GUNICORN_BIND=bind, ALLOWED_HOSTS="127.0.0.1")
    started = load_settings(GUNICORN_BIND=bind, ALLOWED_HOSTS="127.0.0.1", SECRET_KEY="k" * 50)

    assert refused.returncode != 0
    assert "SECRET_KEY" in refused.stderr
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["True", "True"]  # login required by default


def test_a_loopback_bind_with_loopback_hosts_is_local() -> None:
    result = load_settings(GUNICORN_BIND="127.0.0.1:8000")

    assert result.stdout.split() == ["False", "False"]


def test_public_host_without_secret_key_is_refused() -> None:
    result = load_settings(ALLOWED_HOSTS="tasks.example.com")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_with_public_host_is_refused() -> None:
    result = load_settings(ALLOWED_HOSTS="tasks.example.com", SECRET_KEY="x" * 50, DEBUG="true")

    assert result.returncode != 0
    assert "DEBUG" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("TASK_TIME_SCALE", "fast"),
        ("TASK_TIME_SCALE", "-1"),
        ("LOGIN_FAILURES_PER_ACCOUNT", "lots"),
    ],
)
def test_malformed_values_are_refused_with_the_variable_named(name: str, value: str) -> None:
    result = load_settings(**{name: value})

    assert result.returncode != 0
    assert name in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path: pytest.TempPathFactory) -> None:
    key_file = tmp_path / "key"  # type: ignore[operator]
    key_file.write_text("k" * 50)

    result = load_settings(ALLOWED_HOSTS="tasks.example.com", SECRET_KEY_FILE=str(key_file))

    assert result.returncode == 0, result.stderr


def test_a_visibility_timeout_within_the_task_time_limit_is_refused() -> None:
    # Redis would hand a running task's message to a second worker mid-run.
    result = load_settings(BROKER_VISIBILITY_TIMEOUT="60", TASK_TIME_LIMIT="120")

    assert result.returncode != 0
    assert "BROKER_VISIBILITY_TIMEOUT=60" in result.stderr
    assert "TASK_TIME_LIMIT=120" in result.stderr


def test_a_visibility_timeout_beyond_the_task_time_limit_starts() -> None:
    assert load_settings(BROKER_VISIBILITY_TIMEOUT="61", TASK_TIME_LIMIT="60").returncode == 0
