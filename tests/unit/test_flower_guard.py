"""scripts/flower refuses to expose Flower beyond loopback without a login."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "flower"


def run_flower(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
    # `CELERY=echo` shows what would run instead of starting Flower.
    return subprocess.run(
        [str(SCRIPT)], env=clean | {"CELERY": "echo"} | env, capture_output=True, text=True
    )


def test_it_refuses_a_public_address_without_basic_auth() -> None:
    result = run_flower(FLOWER_ADDRESS="0.0.0.0")

    assert result.returncode == 1
    assert "without FLOWER_BASIC_AUTH" in result.stderr


def test_it_refuses_an_open_api_on_a_public_address() -> None:
    result = run_flower(
        FLOWER_ADDRESS="0.0.0.0", FLOWER_BASIC_AUTH="ops:pw", FLOWER_UNAUTHENTICATED_API="true"
    )

    assert result.returncode == 1
    assert "FLOWER_UNAUTHENTICATED_API" in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "--address=127.0.0.1 --port=5555"),
        ({"FLOWER_ADDRESS": "0.0.0.0", "FLOWER_BASIC_AUTH": "ops:pw"}, "--basic-auth=ops:pw"),
    ],
)
def test_it_starts_on_loopback_or_with_a_login(env: dict[str, str], expected: str) -> None:
    result = run_flower(**env)

    assert result.returncode == 0
    assert expected in result.stdout
