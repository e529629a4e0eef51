# ruff: noqa: E501  (a table reads best one request per line)
"""Hostile requests against every endpoint: each one gets a 4xx with a message (or a
plain success where the request is in fact fine), never a 5xx, and the server logs
no traceback for any of them."""

from dataclasses import dataclass, field

import httpx
import pytest

from conftest import Stack
from tests.reliability.conftest import web_service

UNKNOWN = "00000000-0000-4000-8000-000000000000"
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTMX = {"HX-Request": "true"}
# A browser's form post: the CSRF check applies, and reads the body first.
BROWSER = {"Cookie": "csrftoken=" + "a" * 32, "Origin": "{origin}"}


@dataclass(frozen=True)
class Hostile:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    files: list[tuple[str, tuple[None, str]]] | None = None
    status: int | None = None  # the exact answer, where one is owed; else any 2xx-4xx
    says: str = ""  # part of the message


def form(*pairs: tuple[str, str]) -> list[tuple[str, tuple[None, str]]]:
    """A multipart body (curl -F), fields repeated as given."""
    return [(name, (None, value)) for name, value in pairs]


CASES = [
    # --- `type` on submit: missing, empty, negative, huge, float, unicode, repeated
    pytest.param(Hostile("POST", "/tasks/", files=form(("x", "1")), status=400, says="missing"), id="type-missing"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "")), status=400, says="missing"), id="type-empty"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "-1")), status=400), id="type-negative"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "9" * 5000)), status=400), id="type-5000-digits"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "1e3")), status=400), id="type-exponent"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "1.0")), status=400), id="type-float"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "١")), status=400), id="type-arabic-digit"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "１")), status=400), id="type-fullwidth-digit"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "0\x00")), status=400), id="type-nul"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "💥" * 100)), status=400), id="type-emoji"),
    pytest.param(Hostile("POST", "/tasks/", files=form(("type", "1"), ("type", "2")), status=400, says="Send one `type`"), id="type-twice-multipart"),
    pytest.param(Hostile("POST", "/tasks/", FORM, b"type=1&type=2", status=400, says="Send one `type`"), id="type-twice-urlencoded"),
    pytest.param(Hostile("POST", "/tasks/", FORM, b"type[]=1&type[]=2", status=400, says="missing"), id="type-php-array"),
    pytest.param(Hostile("POST", "/tasks/", FORM, b"type=%ff%fe", status=400), id="type-bad-percent-utf8"),
    pytest.param(Hostile("POST", "/tasks/", FORM, b"type=%zz", status=400), id="type-bad-percent-escape"),
    pytest.param(Hostile("POST", "/tasks/", FORM, b"a&" * 1001 + b"type=0", status=400), id="form-too-many-fields"),
    pytest.param(Hostile("POST", "/tasks/", files=form(*[(f"f{i}", "") for i in range(1001)]), status=413), id="multipart-many-fields-too-large"),
    pytest.param(Hostile("POST", "/tasks/", FORM | BROWSER, b"a&" * 1001, status=400), id="browser-form-too-many-fields"),
    # --- JSON bodies
    pytest.param(Hostile("POST", "/tasks/", JSON, b"{not json", status=400, says="not valid JSON"), id="json-malformed"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b"", status=400), id="json-empty-body"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": "\xff"}', status=400), id="json-invalid-utf8"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": 1, "type": 2}', status=400, says="Send one `type`"), id="json-type-twice"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": [1, 2]}', status=400), id="json-type-array"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": {"$gt": 0}}', status=400), id="json-type-object"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": 1.5}', status=400), id="json-type-float"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": NaN}', status=400), id="json-type-nan"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": 1e999}', status=400), id="json-type-infinity"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": ' + b"9" * 5000 + b"}", status=400), id="json-type-5000-digits"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": -3}', status=400), id="json-type-negative"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": null}', status=400), id="json-type-null"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": false}', status=400), id="json-type-false"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b"[" * 4000 + b"]" * 4000, status=400), id="json-deeply-nested"),
    # --- content types and sizes
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "text/plain"}, b"type=1", status=415), id="content-type-text"),
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "application/xml"}, b"<type>1</type>", status=415), id="content-type-xml"),
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "multipart/form-data"}, b"type=1", status=400), id="multipart-without-boundary"),
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\njunk", status=400), id="multipart-truncated"),
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "¿/¿"}, b"type=1", status=415), id="content-type-unicode"),
    pytest.param(Hostile("POST", "/tasks/", FORM, b"type=1&pad=" + b"x" * 100_000, status=413, says="too large"), id="body-100kb"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": 1, "pad": "' + b"x" * 20_000 + b'"}', status=413), id="json-body-20kb"),
    # --- task ids: malformed, overlong, traversal
    pytest.param(Hostile("GET", "/tasks/not-a-uuid/", status=404, says="no task with id"), id="id-malformed"),
    pytest.param(Hostile("GET", f"/tasks/{UNKNOWN}/", status=404), id="id-unknown"),
    pytest.param(Hostile("GET", "/tasks/" + "f" * 3000 + "/", status=404), id="id-3000-chars"),
    pytest.param(Hostile("GET", "/tasks/..%2f..%2fetc%2fpasswd/", status=404), id="id-encoded-slashes"),
    pytest.param(Hostile("GET", "/tasks/%2e%2e/", status=404), id="id-encoded-dot-dot"),
    pytest.param(Hostile("GET", "/tasks/%00/", status=404), id="id-nul"),
    pytest.param(Hostile("GET", "/tasks/%ff%fe/", status=404), id="id-bad-utf8"),
    pytest.param(Hostile("GET", "/tasks/☃/", status=404), id="id-unicode"),
    pytest.param(Hostile("GET", "/tasks/{" + UNKNOWN + "}/", status=404), id="id-braced-uuid"),
    pytest.param(Hostile("POST", "/tasks/..%2f..%2f/cancel/", status=404), id="cancel-traversal"),
    pytest.param(Hostile("POST", "/tasks/" + "a" * 2000 + "/retry/", status=404), id="retry-overlong-id"),
    pytest.param(Hostile("POST", "/tasks/%2e%2e/delete/", status=404), id="delete-dot-dot"),
    pytest.param(Hostile("POST", f"/tasks/{UNKNOWN}/cancel/", HTMX | {"HX-Target": "task-detail"}, status=404), id="cancel-unknown-htmx"),
    # --- wrong methods
    pytest.param(Hostile("PUT", "/tasks/", status=405, says="not allowed"), id="put-collection"),
    pytest.param(Hostile("DELETE", f"/tasks/{UNKNOWN}/", status=405), id="delete-method-on-task"),
    pytest.param(Hostile("GET", f"/tasks/{UNKNOWN}/cancel/", status=405), id="get-cancel"),
    pytest.param(Hostile("PATCH", f"/tasks/{UNKNOWN}/retry/", status=405), id="patch-retry"),
    pytest.param(Hostile("GET", "/tasks/clear/", status=405), id="get-clear"),
    pytest.param(Hostile("POST", "/", status=405), id="post-dashboard"),
    pytest.param(Hostile("OPTIONS", "/", status=405), id="options-dashboard"),
    pytest.param(Hostile("FOO", "/tasks/", status=405), id="made-up-method"),
    # --- junk htmx headers
    pytest.param(Hostile("POST", "/tasks/", HTMX | {"HX-Current-URL": "http://[::1"}, files=form(("type", "0"))), id="hx-current-url-unparsable"),
    pytest.param(Hostile("POST", "/tasks/clear/", HTMX | {"HX-Current-URL": "http://[::1"}), id="clear-hx-current-url-unparsable"),
    pytest.param(Hostile("POST", "/tasks/clear/", HTMX | {"HX-Current-URL": "/?kind=" + "1" * 5000}), id="clear-hx-current-url-5000-digit-kind"),
    pytest.param(Hostile("POST", "/tasks/clear/", HTMX | {"HX-Current-URL": "/?status=NOPE&before=-1"}), id="clear-hx-current-url-bad-filters"),
    pytest.param(Hostile("POST", "/tasks/clear/", HTMX | {"HX-Current-URL": "x" * 8000}), id="clear-hx-current-url-8000-chars"),
    pytest.param(Hostile("GET", "/", {"HX-Request": "junk", "HX-Target": "<script>", "HX-Trigger": "'\""}), id="hx-request-junk"),
    pytest.param(Hostile("GET", "/tasks/", HTMX | {"HX-Target": "t" * 8000}), id="hx-target-8000-chars"),
    pytest.param(Hostile("GET", "/tasks/", HTMX | {"HX-History-Restore-Request": "maybe"}), id="hx-history-restore-junk"),
    pytest.param(Hostile("GET", "/tasks/", {f"X-Junk-{i}": "v" for i in range(80)}, status=431), id="too-many-headers"),
    # --- junk Accept
    pytest.param(Hostile("GET", "/tasks/", {"Accept": "text/html;q=abc"}), id="accept-q-not-a-number"),
    pytest.param(Hostile("GET", "/tasks/", {"Accept": "*/*;q=2"}), id="accept-q-above-one"),
    pytest.param(Hostile("GET", "/tasks/", {"Accept": "text/html;q=nan, application/json;q=-1"}), id="accept-q-nan-negative"),
    pytest.param(Hostile("GET", "/tasks/", {"Accept": ";;;,,,/=="}), id="accept-punctuation"),
    pytest.param(Hostile("GET", "/tasks/", {"Accept": "text/html," * 700}), id="accept-7kb"),
    pytest.param(Hostile("GET", f"/tasks/{UNKNOWN}/", {"Accept": "é/ü;q=é"}, status=404), id="accept-unicode-on-404"),
    # --- junk list parameters
    pytest.param(Hostile("GET", "/tasks/?status=BOGUS", status=400, says="status must be"), id="list-status-bogus"),
    pytest.param(Hostile("GET", "/tasks/?kind=99", status=400), id="list-kind-99"),
    pytest.param(Hostile("GET", "/tasks/?kind=%D9%A1", status=400), id="list-kind-arabic-digit"),
    pytest.param(Hostile("GET", "/tasks/?kind=" + "1" * 3000, status=400), id="list-kind-3000-digits"),
    pytest.param(Hostile("GET", "/tasks/?q=zzz", status=400), id="list-q-not-hex"),
    pytest.param(Hostile("GET", "/tasks/?q=%00", status=400), id="list-q-nul"),
    pytest.param(Hostile("GET", "/tasks/?before=-1", status=400), id="list-before-negative"),
    pytest.param(Hostile("GET", "/tasks/?before=99999999999999999999", status=400), id="list-before-huge"),
    pytest.param(Hostile("GET", "/?before=1.5", {"Accept": "text/html"}, status=400), id="page-before-float"),
    pytest.param(Hostile("GET", "/tasks/?since=%00&seen=junk", HTMX), id="list-since-seen-junk"),
    pytest.param(Hostile("GET", "/tasks/?seen=2024-13-45T99:99:99", HTMX), id="list-seen-impossible-date"),
    pytest.param(Hostile("GET", "/tasks/?seen=9999-12-31T23:59:59-23:00", HTMX), id="list-seen-year-9999"),
    pytest.param(Hostile("GET", "/tasks/?format=xml&format=json&status=a&status=b"), id="list-repeated-params"),
    pytest.param(Hostile("GET", f"/tasks/{UNKNOWN}/?since=junk", HTMX, status=404), id="detail-since-junk"),
    # --- a Host we do not serve (DNS rebinding, a forged header)
    pytest.param(Hostile("GET", "/", {"Host": "evil.example", "Accept": "text/html"}, status=400), id="host-foreign"),
    pytest.param(Hostile("POST", "/tasks/", {"Host": "127.0.0.1:1337@evil"}, b"type=1", status=400), id="host-junk"),
    # --- the health check
    pytest.param(Hostile("GET", "/healthz?junk=%ff", {"Accept": "text/html;q=abc"}), id="healthz-junk-query"),
    pytest.param(Hostile("POST", "/healthz", JSON, b"{not json"), id="healthz-post-junk"),
]  # fmt: skip


def test_there_are_at_least_forty_hostile_requests() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("hostile", CASES)
def test_a_hostile_request_gets_a_4xx_with_a_message_and_no_traceback(
    target: Stack, target_client: httpx.Client, hostile: Hostile
) -> None:
    log = web_service(target).log
    logged_before = len(log())

    response = target_client.request(
        hostile.method,
        hostile.path,
        # As bytes, so that header values can be any UTF-8, as on the wire.
        headers={
            name.encode(): value.replace("{origin}", target.url).encode()
            for name, value in hostile.headers.items()
        },
        content=hostile.content,
        files=hostile.files,
    )

    assert response.status_code < 500, response.text[:500]
    if hostile.status is not None:
        assert response.status_code == hostile.status, response.text[:500]
    if response.status_code >= 400:
        assert response.text.strip(), "an error says what is wrong"
        if response.headers.get("Content-Type", "").startswith("application/json"):
            assert response.json()["error"]
        assert hostile.says in response.text
    assert "Traceback" not in log()[logged_before:]
