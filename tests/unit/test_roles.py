"""Roles: every URL that changes something declares the permission it needs, the
groups migration 0018 makes, who has which role, and tokens acting within their
user's rights."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.role_table import ROLE_PERMISSIONS
from webapp.tasks.access.roles import EVERY_PERMISSION, permissions_of
from webapp.tasks.models import ApiToken, Role, TaskRecord, role_of

pytestmark = pytest.mark.django_db

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Not the dashboard's to guard: Django's admin (its own permissions, and no token
# opens it), logging in and out, and the health check.
NOT_OURS = ("admin/", "accounts/login/", "accounts/logout/", "healthz")


def urls(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Callable[..., Any]]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from urls(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def test_every_view_that_changes_something_declares_a_permission() -> None:
    undeclared = []
    for route, view in urls(get_resolver().url_patterns):
        if route.startswith(NOT_OURS):
            continue
        methods = getattr(view, "methods", None)
        if methods is None:
            undeclared.append(f"/{route}: no @negotiated(...) saying its methods")
            continue
        required = getattr(view, "permissions", {})
        for method in sorted(methods & UNSAFE):
            permission = required.get(method, required.get("*"))
            if permission not in EVERY_PERMISSION:
                undeclared.append(f"{method} /{route}: no @requires(...) permission")

    assert not undeclared, "\n".join(undeclared)


def test_an_admin_has_every_permission_the_code_knows() -> None:
    assert ROLE_PERMISSIONS["admin"] == set(EVERY_PERMISSION)


@pytest.mark.parametrize("role", list(ROLE_PERMISSIONS))
def test_the_migration_makes_each_role_a_group_with_its_permissions(role: str) -> None:
    user = User.objects.create_user(f"someone-{role}")
    user.groups.add(Group.objects.get(name=role))

    assert permissions_of(user) == ROLE_PERMISSIONS[role]
    assert role_of(user) == role


def test_a_user_in_no_group_is_an_operator_and_staff_are_admins() -> None:
    plain = User.objects.create_user("plain")
    staff = User.objects.create_user("staff", is_staff=True)
    root = User.objects.create_superuser("root")

    assert permissions_of(plain) == ROLE_PERMISSIONS["operator"]
    assert role_of(plain) == Role.OPERATOR
    assert permissions_of(staff) == permissions_of(root) == EVERY_PERMISSION
    assert role_of(staff) == role_of(root) == Role.ADMIN


def test_an_inactive_user_has_no_permission() -> None:
    gone = User.objects.create_user("gone", is_active=False)

    assert permissions_of(gone) == frozenset()


def test_a_token_is_made_with_its_users_role_unless_told() -> None:
    viewer = User.objects.create_user("vera")
    viewer.groups.add(Group.objects.get(name="viewer"))
    staff = User.objects.create_user("sam", is_staff=True)

    assert ApiToken.issue(viewer)[0].role == Role.VIEWER
    assert ApiToken.issue(staff)[0].role == Role.ADMIN
    assert ApiToken.issue(staff, role=Role.VIEWER)[0].role == Role.VIEWER


@pytest.fixture
def login_on(settings: Any) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True


@pytest.mark.usefixtures("login_on")
def test_an_admin_token_of_an_operator_acts_as_an_operator() -> None:
    otto = User.objects.create_user("otto")
    _, token = ApiToken.issue(otto, role=Role.ADMIN)
    curl = Client(headers={"Authorization": f"Bearer {token}"})

    queues = curl.get("/queues/").json()
    paused = curl.post("/queues/cpu/pause/")

    assert queues["may_pause"] is False
    assert paused.status_code == 403
    assert paused.json()["error"] == (
        "Forbidden: needs permission tasks.steer_queue (role admin); this token's role is admin."
    )


@pytest.mark.usefixtures("login_on")
def test_a_viewer_token_of_staff_reads_everything_and_changes_nothing() -> None:
    sam = User.objects.create_user("sam", is_staff=True)
    _, token = ApiToken.issue(sam, role=Role.VIEWER)
    curl = Client(headers={"Authorization": f"Bearer {token}"})

    listed = curl.get("/tasks/")
    launched = curl.post("/tasks/", {"type": "0"})

    assert listed.status_code == 200
    assert launched.status_code == 403
    assert launched.json()["error"] == (
        "Forbidden: needs permission tasks.launch_task (role operator or admin); "
        "this token's role is viewer."
    )


@pytest.mark.usefixtures("login_on")
def test_a_group_given_a_permission_in_the_admin_gives_it_to_its_members() -> None:
    vera = User.objects.create_user("vera")
    viewers = Group.objects.get(name="viewer")
    vera.groups.add(viewers)
    operators = Group.objects.get(name="operator")
    viewers.permissions.add(*operators.permissions.filter(codename="steer_task"))

    assert "tasks.steer_task" in permissions_of(User.objects.get(pk=vera.pk))


@pytest.mark.usefixtures("login_on")
def test_an_operator_token_of_staff_sees_only_its_users_own_tasks() -> None:
    sam = User.objects.create_user("sam", is_staff=True)
    otto = User.objects.create_user("otto")
    TaskRecord.objects.create(kind=0, owner=otto)
    _, token = ApiToken.issue(sam, role=Role.OPERATOR)
    curl = Client(headers={"Authorization": f"Bearer {token}"})

    listed = curl.get("/tasks/").json()["tasks"]

    assert listed == []


def test_a_permission_given_to_a_user_counts_beside_their_role() -> None:
    vera = User.objects.create_user("vera")
    vera.groups.add(Group.objects.get(name="viewer"))
    vera.user_permissions.add(Permission.objects.get(codename="launch_task"))

    assert permissions_of(vera) == {"tasks.view_all_tasks", "tasks.launch_task"}
