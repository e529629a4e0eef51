# ruff: noqa: E501  (a table reads best one request per line)
"""Hostile requests against every endpoint: each one gets a 4xx with a message (or a
plain success where the request is in fact fine), never a 5xx, and the server logs
no traceback for any of them."""

import socket
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


# --- Parser limits, on every endpoint ------------------------------------------------
# Each endpoint as a client reaches it; the task id is one that does not exist, so the
# actions stop at 404 once the request has been read.
ENDPOINTS = [
    ("GET", "/"),
    ("GET", "/tasks/"),
    ("POST", "/tasks/"),
    ("GET", f"/tasks/{UNKNOWN}/"),
    ("POST", f"/tasks/{UNKNOWN}/cancel/"),
    ("POST", f"/tasks/{UNKNOWN}/retry/"),
    ("POST", f"/tasks/{UNKNOWN}/delete/"),
    ("POST", "/tasks/clear/"),
    ("GET", "/healthz"),
    ("GET", "/accounts/login/"),
    ("POST", "/accounts/login/"),
    ("GET", "/admin/"),
]
POSTS = [(method, path) for method, path in ENDPOINTS if method == "POST"]
PAGE = {"Accept": "text/html"}
TOO_MANY_QUERY_FIELDS = "?" + "a&" * 1001 + "status=PENDING"  # Django's limit is 1 000
TOO_MANY_FORM_FIELDS = b"a&" * 1001 + b"type=0"
DEEP_JSON = b"[" * 10_000  # 10 KB, under the size limit; json.loads recurses per level
# Header values are sent as bytes: a lone surrogate here is that raw byte (not UTF-8).
BAD_UTF8 = "\udcff\udcfe"
JUNK_HEADERS = {
    "HX-Request": "true",
    "HX-Current-URL": f"/?q={BAD_UTF8}&status=%zz%ff",
    "HX-Target": BAD_UTF8,
    "HX-Trigger": BAD_UTF8,
    "Accept": f"text/{BAD_UTF8}",
    "Accept-Language": BAD_UTF8,
    "Cookie": f"sessionid={BAD_UTF8}; csrftoken=%ff",
    "If-None-Match": BAD_UTF8,
}


def multipart_with_fields(count: int) -> tuple[dict[str, str], bytes]:
    parts = [
        f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n\r\n' for i in range(count)
    ]
    return {"Content-Type": "multipart/form-data; boundary=b"}, (
        "".join(parts) + "--b--\r\n"
    ).encode()


MANY_PARTS = multipart_with_fields(1001)  # about 52 KB: under Django's 64 KB


def slug(path: str) -> str:
    return path.strip("/").replace(UNKNOWN, "id").replace("/", "-") or "dashboard"


# The health check answers first, before anything reads the query (or the Host).
QUERIED = [(method, path) for method, path in ENDPOINTS if path != "/healthz"]
# A token never opens the admin, whatever it is (it takes a browser login).
TOKEN_REFUSAL = {"/admin/": (403, "browser login")}

LIMITS = [
    *[pytest.param(Hostile(method, path + TOO_MANY_QUERY_FIELDS, status=400, says="query parameters"), id=f"{slug(path)}-{method}-query-1001-fields") for method, path in QUERIED],
    *[pytest.param(Hostile(method, path + TOO_MANY_QUERY_FIELDS, PAGE, status=400, says="query parameters"), id=f"{slug(path)}-{method}-query-1001-fields-page") for method, path in QUERIED],
    *[pytest.param(Hostile(method, path + TOO_MANY_QUERY_FIELDS, HTMX, status=400, says="query parameters"), id=f"{slug(path)}-{method}-query-1001-fields-htmx") for method, path in QUERIED],
    *[pytest.param(Hostile(method, path + TOO_MANY_QUERY_FIELDS, {"Authorization": "Bearer tdb_nope"}, status=TOKEN_REFUSAL.get(path, (401, ""))[0], says=TOKEN_REFUSAL.get(path, (0, "token"))[1]), id=f"{slug(path)}-{method}-query-1001-fields-bad-token") for method, path in QUERIED],
    pytest.param(Hostile("GET", "/healthz" + TOO_MANY_QUERY_FIELDS, status=200), id="healthz-GET-query-1001-fields"),
    *[pytest.param(Hostile(method, path + "?status=%zz&q=%ff%fe&kind=%&before=%%30"), id=f"{slug(path)}-{method}-query-bad-percent-encoding") for method, path in ENDPOINTS],
    *[pytest.param(Hostile(method, path + "?q=\u2603&status=\U0001f4a5"), id=f"{slug(path)}-{method}-query-unicode") for method, path in ENDPOINTS],
    *[pytest.param(Hostile(method, path, JUNK_HEADERS), id=f"{slug(path)}-{method}-headers-invalid-utf8") for method, path in ENDPOINTS],
    *[pytest.param(Hostile(method, path, HTMX | {"HX-Current-URL": "/" + TOO_MANY_QUERY_FIELDS}), id=f"{slug(path)}-{method}-hx-current-url-1001-fields") for method, path in ENDPOINTS],
    *[pytest.param(Hostile(method, path, {"X-Big": "x" * 9000}, status=431), id=f"{slug(path)}-{method}-header-9kb") for method, path in ENDPOINTS],
    *[pytest.param(Hostile(method, path, {f"X-Junk-{i}": "v" for i in range(61)}, status=431), id=f"{slug(path)}-{method}-61-headers") for method, path in ENDPOINTS],
    *[pytest.param(Hostile(method, path + "?pad=" + "x" * 4100, status=414), id=f"{slug(path)}-{method}-request-line-4kb") for method, path in ENDPOINTS],
    *[pytest.param(Hostile(method, path, FORM, TOO_MANY_FORM_FIELDS), id=f"{slug(path)}-{method}-form-1001-fields") for method, path in POSTS],
    *[pytest.param(Hostile(method, path, FORM | BROWSER, TOO_MANY_FORM_FIELDS, status=400), id=f"{slug(path)}-{method}-browser-form-1001-fields") for method, path in POSTS],
    *[pytest.param(Hostile(method, path, MANY_PARTS[0], MANY_PARTS[1]), id=f"{slug(path)}-{method}-multipart-1001-fields") for method, path in POSTS],
    *[pytest.param(Hostile(method, path, JSON, DEEP_JSON), id=f"{slug(path)}-{method}-json-10000-deep") for method, path in POSTS],
    *[pytest.param(Hostile(method, path, JSON | PAGE, DEEP_JSON), id=f"{slug(path)}-{method}-json-10000-deep-page") for method, path in POSTS],
    *[pytest.param(Hostile(method, path, {"Content-Type": "application/json; charset=utf-16"}, '{"type": 0}'.encode("utf-16")), id=f"{slug(path)}-{method}-json-utf16") for method, path in POSTS],
    *[pytest.param(Hostile(method, path, {"Content-Type": "application/x-www-form-urlencoded; charset=bogus"}, b"type=0&username=%ff"), id=f"{slug(path)}-{method}-form-charset-bogus") for method, path in POSTS],
    *[pytest.param(Hostile(method, path, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-16"}, b"type=0"), id=f"{slug(path)}-{method}-form-charset-utf16") for method, path in POSTS],
    *[pytest.param(Hostile(method, path, {"Content-Type": "multipart/form-data; boundary=b; charset=bogus"}, b'--b\r\nContent-Disposition: form-data; name="type"\r\n\r\n0\r\n--b--\r\n'), id=f"{slug(path)}-{method}-multipart-charset-bogus") for method, path in POSTS],
    pytest.param(Hostile("POST", "/tasks/", JSON, DEEP_JSON, status=400, says="nested"), id="submit-json-10000-deep-says-nested"),
    pytest.param(Hostile("POST", "/tasks/", JSON, b'{"type": ' + DEEP_JSON, status=400, says="nested"), id="submit-json-type-10000-deep"),
    pytest.param(Hostile("POST", "/tasks/clear/", JSON | PAGE, DEEP_JSON, status=400, says="nested"), id="clear-confirmation-json-10000-deep"),
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "application/json; charset=utf-16"}, '{"type": 0}'.encode("utf-16"), status=202), id="submit-json-utf16-is-read"),
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "application/json; charset=bogus"}, b'{"type": 0}', status=202), id="submit-json-charset-bogus-is-utf8"),
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "application/json"}, b'{"type": 0}'.decode().encode("utf-32"), status=202), id="submit-json-utf32-is-read"),
    pytest.param(Hostile("POST", "/tasks/", {"Content-Type": "application/json"}, b"\xfe\xff\x00{", status=400), id="submit-json-broken-utf16"),
]  # fmt: skip

CASES += LIMITS


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
            name.encode(): value.replace("{origin}", target.url).encode("utf-8", "surrogateescape")
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


# --- Bytes no HTTP client sends: invalid UTF-8 right in the request line -------------
# (Percent-encoded invalid UTF-8 reaches Django: see id-bad-utf8 and the
# query-bad-percent-encoding cases above.)
RAW = [
    pytest.param("GET", b"/tasks/\xff\xfe/", id="path-raw-invalid-utf8"),
    pytest.param("POST", b"/tasks/\xc3\x28/cancel/", id="cancel-path-raw-invalid-utf8"),
    pytest.param("GET", b"/?q=\xff&status=\xfe", id="dashboard-query-raw-invalid-utf8"),
    pytest.param("GET", b"/tasks/?status=\xc0\xaf", id="list-query-overlong-utf8"),
    pytest.param("POST", b"/tasks/clear/?\xed\xa0\x80", id="clear-query-raw-surrogate"),
    pytest.param("GET", b"/healthz?\xff", id="healthz-query-raw-invalid-utf8"),
    pytest.param("GET", b"/accounts/login/?next=/\xff", id="login-next-raw-invalid-utf8"),
    pytest.param("GET", b"/admin/\xff/", id="admin-path-raw-invalid-utf8"),
]


def raw_exchange(url: str, request: bytes) -> tuple[int, str]:
    """Send bytes as they are over a fresh connection: the status and the body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode(errors="replace")


@pytest.mark.parametrize(("method", "target_bytes"), RAW)
def test_invalid_utf8_in_the_request_line_is_a_4xx_without_traceback(
    target: Stack, method: str, target_bytes: bytes
) -> None:
    log = web_service(target).log
    logged_before = len(log())
    request = (
        method.encode() + b" " + target_bytes + b" HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nAccept: */*\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )

    status, body = raw_exchange(target.url, request)

    # gunicorn refuses a request line that is not ASCII before Django sees it.
    assert status == 400, body[:500]
    assert body.strip(), "an error says what is wrong"
    assert "Traceback" not in log()[logged_before:]
