"""The dashboard page is rendered once and filled in per response (webapp/tasks/table/page.py):
it is the page a fresh render gives, costs one query while nothing changed, carries a
CSRF token and CSP nonce of its own in every response, and never crosses owners or
readers."""

import re
from collections.abc import Iterator

import pytest
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import Settings

from webapp.tasks.catalogue.kinds import Kind
from webapp.tasks.models import Status, StatusCount, TaskRecord, WorkerStatus
from webapp.tasks.table import page

# Outside a transaction: the page is only kept for requests outside one.
pytestmark = pytest.mark.django_db(transaction=True)
PAGE = {"Accept": "text/html"}
ORIGIN = {"Origin": "http://testserver"}
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NONCE = re.compile(r'nonce="([^"]+)"')


@pytest.fixture(autouse=True)
def counted_statuses() -> None:
    # A flush between transactional tests empties the trigger-kept counts' rows,
    # which the migrations made and the triggers only update: made again here.
    StatusCount.objects.bulk_create([StatusCount(status=s) for s in Status], ignore_conflicts=True)


@pytest.fixture(autouse=True)
def no_pages_kept() -> Iterator[None]:
    page._shells.clear()
    yield
    page._shells.clear()


def per_response_parts_blanked(html: str) -> str:
    html = TOKEN.sub('name="csrfmiddlewaretoken" value=""', html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', '"X-CSRFToken": ""', html)
    # The charts' end is the moment of rendering.
    html = re.sub(r'(datetime|data-datetime)="[^"]+"', r'\1=""', html)
    return NONCE.sub('nonce=""', html)


def test_the_kept_page_is_the_page_a_fresh_render_gives(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    TaskRecord.submit(Kind.SHORT)
    kept = client.get("/?size=10", headers=PAGE)
    again = client.get("/?size=10", headers=PAGE)
    monkeypatch.setattr(
        page, "dashboard_page", lambda request, query: page.full_page(request, query)
    )
    fresh = client.get("/?size=10", headers=PAGE)

    assert kept.status_code == again.status_code == fresh.status_code == 200
    assert kept["Content-Type"] == fresh["Content-Type"]
    assert per_response_parts_blanked(again.text) == per_response_parts_blanked(fresh.text)
    assert per_response_parts_blanked(kept.text) == per_response_parts_blanked(fresh.text)


def a_running_task() -> TaskRecord:
    running = TaskRecord.submit(Kind.LONG)
    TaskRecord.mark_started(str(running.task_id), worker="w1")
    return running


def test_progress_alone_keeps_a_page_for_as_long_as_a_poll_takes(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "FRESH_SECONDS", 3600)
    running = a_running_task()
    TaskRecord.report_progress(str(running.task_id), 10)
    client.get("/", headers=PAGE)

    TaskRecord.report_progress(str(running.task_id), 55)
    kept = client.get("/", headers=PAGE).text
    assert 'value="10"' in kept  # the live table's first poll brings 55
    added = TaskRecord.submit(Kind.SHORT)  # anything else shows at once
    assert str(added.task_id) in client.get("/", headers=PAGE).text

    monkeypatch.setattr(page, "FRESH_SECONDS", 0)
    TaskRecord.report_progress(str(running.task_id), 60)
    assert 'value="60"' in client.get("/", headers=PAGE).text


def counting_renders(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    renders: list[object] = []
    render = page.render_shell

    def counted(*args: object) -> page.Shell:
        renders.append(args)
        return render(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(page, "render_shell", counted)
    return renders


def test_counts_alone_keep_a_live_page_for_as_long_as_a_poll_takes(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A busy hour moves the counts (and the queues' depths) many times a second
    # without touching the rows a page shows: a page whose table polls at once is
    # served as it is, not rendered for every load.
    monkeypatch.setattr(page, "FRESH_SECONDS", 3600)
    renders = counting_renders(monkeypatch)
    a_running_task()
    client.get("/?status=STARTED", headers=PAGE)
    renders.clear()

    TaskRecord.submit(Kind.SHORT)  # counted as pending; not a row of this page
    assert client.get("/?status=STARTED", headers=PAGE).status_code == 200
    assert renders == []

    monkeypatch.setattr(page, "FRESH_SECONDS", 0)
    TaskRecord.submit(Kind.SHORT)
    client.get("/?status=STARTED", headers=PAGE)
    assert len(renders) == 1


def test_a_page_served_for_moved_numbers_is_not_looked_at_again_until_a_commit(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A busy hour loads the page many times between two commits: after one look at
    # the table's state finds only numbers moved, the loads up to the next commit
    # cost the stamp alone, as a page known current does.
    monkeypatch.setattr(page, "FRESH_SECONDS", 3600)
    running = a_running_task()
    client.get("/", headers=PAGE)
    TaskRecord.report_progress(str(running.task_id), 30)
    client.get("/", headers=PAGE)  # looks, finds progress alone moved: served as it is

    with CaptureQueriesContext(connection) as queries:
        again = client.get("/", headers=PAGE)

    assert 'value="30"' not in again.text
    assert len(queries) == 1  # the database's stamp
    TaskRecord.report_progress(str(running.task_id), 40)
    with CaptureQueriesContext(connection) as queries:
        client.get("/", headers=PAGE)
    assert len(queries) > 1  # a commit: looked at again


def test_a_page_that_polls_slowly_shows_new_counts_at_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "FRESH_SECONDS", 3600)
    renders = counting_renders(monkeypatch)
    client.get("/?status=FAILURE", headers=PAGE)  # nothing runs: it polls every 5 s
    renders.clear()

    TaskRecord.submit(Kind.SHORT)
    answer = client.get("/?status=FAILURE", headers=PAGE).text

    assert len(renders) == 1
    assert re.search(r'class="count">1</span> <span class="label">pending', answer)


def test_the_reload_after_an_action_shows_what_the_action_did(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "FRESH_SECONDS", 3600)
    client.get("/", headers=PAGE)
    task = TaskRecord.submit(Kind.SHORT)  # as a plain form's launch does, then 303 to /
    request = RequestFactory().get("/")
    storage = CookieStorage(request)
    storage.add(messages.SUCCESS, "Launched short task.")
    response = HttpResponse()
    storage.update(response)
    client.cookies[storage.cookie_name] = response.cookies[storage.cookie_name].value

    redirected = client.get("/", headers=PAGE).text
    assert "Launched short task." in redirected
    assert str(task.task_id) in redirected
    reloaded = client.get("/", headers=PAGE).text
    assert "Launched short task." not in reloaded  # said once
    assert str(task.task_id) in reloaded


def test_an_unchanged_page_costs_one_query_and_a_change_shows_at_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "FRESH_SECONDS", 0)
    client.get("/", headers=PAGE)
    with CaptureQueriesContext(connection) as queries:
        client.get("/", headers=PAGE)
    assert len(queries) == 1  # the database's stamp

    task = TaskRecord.submit(Kind.MEDIUM)
    assert str(task.task_id) in client.get("/", headers=PAGE).text


def test_a_write_the_page_does_not_show_keeps_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "FRESH_SECONDS", 0)
    worker = WorkerStatus.objects.create(hostname="w1", concurrency=2)
    client.get("/", headers=PAGE)
    renders = []
    monkeypatch.setattr(page, "render_shell", lambda *args: renders.append(args))

    worker.last_seen = timezone.now()  # a heartbeat: the database's stamp moves
    worker.save(update_fields=["last_seen"])
    assert client.get("/", headers=PAGE).status_code == 200
    assert renders == []


def test_every_response_has_its_own_csrf_token_and_nonce() -> None:
    client = Client(enforce_csrf_checks=True)
    first = client.get("/", headers=PAGE)
    second = client.get("/", headers=PAGE)

    tokens = [set(TOKEN.findall(r.text)) for r in (first, second)]
    assert all(len(t) == 1 for t in tokens)  # one token throughout each page
    assert tokens[0] != tokens[1]  # masked afresh: BREACH learns nothing from a repeat
    forged = client.post("/", {"csrfmiddlewaretoken": "x" * 64}, headers=ORIGIN)
    assert forged.status_code == 403
    for token in tokens:  # each is accepted: past the CSRF check, GET-only / says 405
        posted = client.post("/", {"csrfmiddlewaretoken": token.pop()}, headers=ORIGIN)
        assert posted.status_code == 405
    for response in (first, second):
        nonces = set(NONCE.findall(response.text))
        assert len(nonces) == 1
        assert f"'nonce-{nonces.pop()}'" in response["Content-Security-Policy"]
    assert NONCE.findall(first.text)[0] != NONCE.findall(second.text)[0]


@pytest.fixture
def login_required(settings: Settings) -> None:
    settings.DASHBOARD_REQUIRE_LOGIN = True


def signed_in(name: str, staff: bool = False) -> tuple[Client, User]:
    user = User.objects.create_user(name, is_staff=staff)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.mark.usefixtures("login_required")
def test_a_kept_page_never_shows_another_owners_tasks(client: Client) -> None:
    alice, alice_user = signed_in("alice")
    bob, bob_user = signed_in("bob")
    alices = TaskRecord.submit(Kind.SHORT, owner=alice_user)
    bobs = TaskRecord.submit(Kind.SHORT, owner=bob_user)

    for _ in range(2):  # rendered, then kept
        seen_by_alice = alice.get("/", headers=PAGE).text
        seen_by_bob = bob.get("/", headers=PAGE).text
        assert str(alices.task_id) in seen_by_alice
        assert str(bobs.task_id) not in seen_by_alice
        assert str(bobs.task_id) in seen_by_bob
        assert str(alices.task_id) not in seen_by_bob
        assert "Log out bob" in seen_by_bob
        assert "alice" not in seen_by_bob


@pytest.mark.usefixtures("login_required")
def test_staff_share_a_kept_page_but_each_reads_their_own_name(client: Client) -> None:
    carol, _ = signed_in("carol", staff=True)
    dave, _ = signed_in("dave<b>", staff=True)
    TaskRecord.submit(Kind.SHORT)

    for _ in range(2):
        seen_by_carol = carol.get("/", headers=PAGE).text
        seen_by_dave = dave.get("/", headers=PAGE).text
        assert "Log out carol" in seen_by_carol
        assert "dave" not in seen_by_carol
        assert "Log out dave&lt;b&gt;" in seen_by_dave
        assert "carol" not in seen_by_dave
