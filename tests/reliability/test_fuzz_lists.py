"""Property-based fuzzing of what the table is built from: the list and filter
parameters of GET / and /tasks/ and the htmx headers (HX-Current-URL rebuilds the
table after an action), on reads and on actions. Whatever they hold, the answer is
never a 5xx, an error says what is wrong, and the server logs no traceback."""

from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Stack
from tests.reliability.conftest import web_service

# Header values as a client could send them: printable, any unicode, no edges.
header_values = st.text(
    st.characters(min_codepoint=0x20, blacklist_categories=("Cc", "Cs")), max_size=60
).map(str.strip)
names = st.sampled_from(
    ["status", "kind", "q", "before", "since", "format", "seen", "type", "next"]
) | st.text(max_size=10)
values = (
    st.sampled_from(
        ["", "PENDING", "success", "STARTED ", "0", "3", "9", "-1", "1.5", "٣", "json", "xml"]
    )
    | st.integers(min_value=-(10**25), max_value=10**25).map(str)
    | st.uuids().map(lambda u: str(u)[: 1 + u.int % 36])
    | st.text(max_size=30)
)
# Repeated names come from the list itself; counts around Django's limit of 1 000
# fields from the second (short fields: gunicorn refuses request lines over 4 KB).
parameters = st.lists(st.tuples(names, values), max_size=8).map(urlencode) | st.builds(
    lambda count, name: "&".join([f"{name}="] * count),
    st.integers(min_value=995, max_value=1005),
    st.sampled_from(["a", "q", "b"]),
)
# A page the action could have been posted from: a dashboard URL (absolute or not)
# with any parameters, or anything at all.
current_urls = (
    st.builds(
        lambda base, query: f"{base}?{query}", st.sampled_from(["/", "http://x/"]), parameters
    )
    | st.sampled_from(["http://[::1", "/?" + "a&" * 1001, "javascript:alert(1)", "//evil/?q=0"])
    | header_values
)
htmx_headers = st.fixed_dictionaries(
    {},
    optional={
        "HX-Request": st.sampled_from(["true", "false", ""]) | header_values,
        "HX-Current-URL": current_urls,
        "HX-Trigger": st.sampled_from(["filters", "task-table"]) | header_values,
        "HX-Target": st.sampled_from(["task-table", "task-detail"]) | header_values,
        "HX-History-Restore-Request": st.sampled_from(["true", "false"]) | header_values,
        "Accept": st.sampled_from(["*/*", "application/json", "text/html"]) | header_values,
    },
)
# (method, path) of reads and actions; "{fresh}" is a task launched just before.
REQUESTS = [
    ("GET", "/"),
    ("GET", "/tasks/"),
    ("POST", "/tasks/"),
    ("POST", "/tasks/clear/"),
    ("POST", "/tasks/{fresh}/cancel/"),
    ("POST", "/tasks/{fresh}/retry/"),
    ("POST", "/tasks/{fresh}/delete/"),
    ("GET", "/tasks/{fresh}/"),
]


def is_json(response: httpx.Response) -> bool:
    return str(response.headers.get("Content-Type", "")).startswith("application/json")


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # no example files in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    request=st.sampled_from(REQUESTS),
    query=parameters,
    headers=htmx_headers,
)
def test_list_parameters_and_htmx_headers_never_answer_5xx(
    target: Stack,
    target_client: httpx.Client,
    request: tuple[str, str],
    query: str,
    headers: dict[str, str],
) -> None:
    method, path = request
    if "{fresh}" in path:
        fresh = target_client.post("/tasks/", data={"type": "0"}).json()["task_id"]
        path = path.format(fresh=fresh)
    log = web_service(target).log
    logged_before = len(log())

    response = target_client.request(
        method,
        f"{path}?{query}" if query else path,
        data={"type": "0"} if path == "/tasks/" and method == "POST" else None,
        headers={name.encode(): value.encode() for name, value in headers.items()},
    )

    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.json().get("error") if is_json(response) else response.text.strip()
    assert "Traceback" not in log()[logged_before:]
