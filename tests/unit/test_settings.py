"""Settings refuse to start a public deployment on unsafe values."""

import os
import subprocess
import sys

import pytest


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")
    }
    return subprocess.run(
        [sys.executable, "-c", "import webapp.settings"],
        env=clean | env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_local_defaults_start() -> None:
    assert load_settings().returncode == 0


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
    [("DEBUG", "maybe"), ("TASK_TIME_SCALE", "fast"), ("TASK_TIME_SCALE", "-1")],
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
