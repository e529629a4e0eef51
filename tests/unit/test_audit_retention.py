"""The audit trail's own retention: entries older than AUDIT_RETENTION_DAYS go, in
bounded batches, with the retention job; the rest, and everything when it is off, stay."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import Settings

from webapp.tasks.models import AuditAction, AuditChannel, AuditEntry
from webapp.tasks.running import retention

pytestmark = pytest.mark.django_db


def entry(days_ago: float) -> AuditEntry:
    return AuditEntry.objects.create(
        at=timezone.now() - timedelta(days=days_ago),
        action=AuditAction.CANCEL,
        channel=AuditChannel.API,
        username="alice",
    )


def test_retention_deletes_entries_older_than_their_own_period(settings: Settings) -> None:
    settings.AUDIT_RETENTION_DAYS = 90
    settings.TASK_RETENTION_DAYS = 30
    old = [entry(days_ago=91) for _ in range(5)]
    kept = [entry(days_ago=89), entry(days_ago=31), entry(days_ago=0)]

    report = retention.apply_retention()

    assert report.audit_entries == len(old)
    assert set(AuditEntry.objects.values_list("pk", flat=True)) == {e.pk for e in kept}


def test_old_entries_go_in_batches_of_bounded_size(settings: Settings) -> None:
    old = [entry(days_ago=100) for _ in range(7)]
    recent = entry(days_ago=1)
    batches: list[int] = []

    deleted = retention.delete_audit_entries(
        timezone.now() - timedelta(days=90), batch_size=3, on_batch=batches.append
    )

    assert deleted == len(old)
    assert batches == [3, 3, 1]
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]


def test_audit_retention_off_keeps_every_entry(settings: Settings) -> None:
    settings.AUDIT_RETENTION_DAYS = 0
    ancient = entry(days_ago=3650)

    assert retention.apply_retention().audit_entries == 0
    assert AuditEntry.objects.filter(pk=ancient.pk).exists()


@pytest.mark.parametrize(("value", "days"), [("off", 0), ("0", 0), ("365", 365), (None, 90)])
def test_audit_retention_days_setting(value: str | None, days: int) -> None:
    env = {"AUDIT_RETENTION_DAYS": value} if value is not None else {}
    code = "from django.conf import settings as s; print(s.AUDIT_RETENTION_DAYS)"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "webapp.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == str(days)


def test_a_malformed_audit_retention_days_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import webapp.settings"],
        env={**__import__("os").environ, "AUDIT_RETENTION_DAYS": "forever"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS" in result.stderr
