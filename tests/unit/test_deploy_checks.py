"""Production mode passes Django's deployment checklist without a warning."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "DEBUG", "SECRET_KEY"))
    }
    return clean | {
        "ALLOWED_HOSTS": "tasks.example.com",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **overrides,
    }


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_mode_passes_check_deploy_with_no_warning(tmp_path: Path) -> None:
    result = check_deploy(production_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_turning_https_redirect_off_is_reported_by_check_deploy(
    tmp_path: Path,
) -> None:
    result = check_deploy(production_env(tmp_path, SECURE_SSL_REDIRECT="false"))

    assert result.returncode != 0
    assert "security.W008" in result.stderr


def test_csrf_middleware_is_djangos_check_under_another_name() -> None:
    # Why security.W003 may be silenced: the CSRF middleware in use is Django's.
    csrf = [
        path for path in settings.MIDDLEWARE if issubclass(import_string(path), CsrfViewMiddleware)
    ]

    assert csrf == ["webapp.tasks.access.csrf.BrowserCsrfMiddleware"]
