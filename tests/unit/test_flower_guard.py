"""scripts/flower refuses to expose Flower beyond loopback without a login, keeps
secrets off its command line and gives Flower only the environment it needs."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "flower"


@pytest.fixture
def fake_celery(tmp_path: Path) -> Path:
    """Stands in for celery: prints its arguments, then its environment."""
    fake = tmp_path / "celery"
    fake.write_text('#!/bin/sh\necho "ARGS $*"\nenv\n')
    fake.chmod(0o755)
    return fake


def run_flower(celery: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
    return subprocess.run(
        [str(SCRIPT)], env=clean | {"CELERY": str(celery)} | env, capture_output=True, text=True
    )


def arguments(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.splitlines()[0]


def environment(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in result.stdout.splitlines()[1:] if "=" in line)


def test_it_refuses_a_public_address_without_basic_auth(fake_celery: Path) -> None:
    result = run_flower(fake_celery, FLOWER_ADDRESS="0.0.0.0")

    assert result.returncode == 1
    assert "without FLOWER_BASIC_AUTH" in result.stderr


def test_it_refuses_an_open_api_on_a_public_address(fake_celery: Path) -> None:
    result = run_flower(
        fake_celery,
        FLOWER_ADDRESS="0.0.0.0",
        FLOWER_BASIC_AUTH="ops:pw",
        FLOWER_UNAUTHENTICATED_API="true",
    )

    assert result.returncode == 1
    assert "FLOWER_UNAUTHENTICATED_API" in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "--address=127.0.0.1 --port=5555"),
        ({"FLOWER_ADDRESS": "0.0.0.0", "FLOWER_BASIC_AUTH": "ops:pw"}, "--address=0.0.0.0"),
    ],
)
def test_it_starts_on_loopback_or_with_a_login(
    fake_celery: Path, env: dict[str, str], expected: str
) -> None:
    result = run_flower(fake_celery, **env)

    assert result.returncode == 0
    assert expected in arguments(result)


def test_secrets_stay_off_the_command_line(fake_celery: Path) -> None:
    result = run_flower(
        fake_celery,
        FLOWER_ADDRESS="0.0.0.0",
        FLOWER_BASIC_AUTH="ops:flower-pw",
        REDIS_URL="redis://:redis-pw@redis:6379/0",
    )

    assert result.returncode == 0
    assert "flower-pw" not in arguments(result)
    assert "redis-pw" not in arguments(result)
    assert "-A" not in arguments(result).split()  # no Django app, no Django settings
    assert environment(result)["FLOWER_BASIC_AUTH"] == "ops:flower-pw"
    assert environment(result)["CELERY_BROKER_URL"] == "redis://:redis-pw@redis:6379/0"


def test_flower_inherits_nothing_it_does_not_need(fake_celery: Path) -> None:
    result = run_flower(
        fake_celery,
        SECRET_KEY="django-secret",
        DATABASE_URL="postgres://u:db-pw@db/x",
        POSTGRES_PASSWORD="db-pw",
        REDIS_URL="redis://127.0.0.1:6380/0",
    )

    env = environment(result)
    assert result.returncode == 0
    assert set(env) <= {
        "PATH", "HOME", "LANG", "TZ", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE",
        "CELERY_BROKER_URL", "FLOWER_BASIC_AUTH", "FLOWER_UNAUTHENTICATED_API", "PWD", "SHLVL", "_",
    } | {name for name in env if name.startswith("LC_")}  # fmt: skip
    assert "db-pw" not in result.stdout
    assert "django-secret" not in result.stdout
