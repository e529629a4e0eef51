"""Token records: what makes one valid, the commands that make and revoke them,
and the admin that lists them without their digests."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from webapp.tasks.models import ApiToken, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def dora() -> User:
    return User.objects.create_user("dora", password="dora-secret-pw")


def create_token(*args: str) -> str:
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue().strip()


def test_create_token_makes_viewer_and_expiring_tokens(dora: User) -> None:
    token = create_token("dora", "--role", "viewer", "--expires-in", "7", "--name", "ci")
    create_token("dora", "--read-only", "--name", "old-script")

    record = ApiToken.objects.get(name="ci")
    assert record.role == Role.VIEWER
    assert ApiToken.objects.get(name="old-script").role == Role.VIEWER
    assert record.expires_at is not None
    assert timedelta(days=6.9) < record.expires_at - timezone.now() <= timedelta(days=7)
    assert token.startswith(record.prefix)
    assert ApiToken.authenticate(token) == (record, "")


def test_check_tells_revoked_and_expired_apart_from_unknown(dora: User) -> None:
    revoked, revoked_token = ApiToken.issue(dora)
    revoked.revoke()
    _, expired_token = ApiToken.issue(dora, expires_at=timezone.now())

    assert ApiToken.authenticate(revoked_token)[1] == "That token was revoked."
    assert ApiToken.authenticate(expired_token)[1] == "That token has expired."
    assert ApiToken.authenticate("tdb_nope")[1] == "That token is not valid."


def test_revoke_token_needs_something_to_match(dora: User) -> None:
    with pytest.raises(CommandError, match="Say which"):
        call_command("revoke_token")


def test_revoke_token_by_user_revokes_only_that_users_tokens(dora: User) -> None:
    other = User.objects.create_user("olga")
    create_token("dora")
    create_token("dora")
    kept = create_token("olga")

    call_command("revoke_token", "--user", "dora", stdout=StringIO())

    assert ApiToken.objects.filter(user=dora, revoked_at__isnull=True).count() == 0
    assert ApiToken.authenticate(kept)[0] is not None
    assert other.api_tokens.get().revoked_at is None


def test_admin_lists_tokens_without_digests_and_revokes_them(
    admin_client: Client, dora: User
) -> None:
    record, token = ApiToken.issue(dora, name="laptop")

    listing = admin_client.get("/admin/tasks/apitoken/")
    detail = admin_client.get(f"/admin/tasks/apitoken/{record.pk}/change/")
    revoked = admin_client.post(
        "/admin/tasks/apitoken/",
        {"action": "revoke", "_selected_action": [record.pk]},
        follow=True,
    )

    assert listing.status_code == 200
    assert "laptop" in listing.text
    assert record.prefix in listing.text
    for page in (listing, detail):
        assert record.digest not in page.text
        assert token not in page.text
    assert revoked.status_code == 200
    record.refresh_from_db()
    assert record.revoked_at is not None


def test_revoke_token_by_the_start_of_its_prefix(dora: User) -> None:
    token = create_token("dora")
    out = StringIO()

    call_command("revoke_token", token[:9], stdout=out)

    assert "Revoked 1 token." in out.getvalue()
    assert ApiToken.authenticate(token) == (None, "That token was revoked.")
