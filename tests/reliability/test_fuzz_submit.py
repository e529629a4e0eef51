"""Property-based fuzzing of the submit endpoint over HTTP: whatever the content type,
body, `type` value and headers, the answer is never a 5xx, and it is either an
accepted task or an error that says what is wrong."""

import json
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Stack
from tests.reliability.conftest import web_service

# Any JSON value, as a `type` or as a whole body.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Text a form field could carry, plus the digits and near-digits that matter.
type_texts = st.sampled_from(["0", "3", "6", "7", "-1", "1.0", " 2 ", "٣", "0x1", ""]) | st.text(
    max_size=40
)
# Header values as a client could send them: printable, any unicode, no edges.
header_values = st.text(
    st.characters(min_codepoint=0x20, blacklist_categories=("Cc", "Cs")), max_size=60
).map(str.strip)
content_types = (
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=fuzz",
            "multipart/form-data",
            "text/plain",
            "application/octet-stream",
            "",
        ]
    )
    | header_values
)


MATCHING = {
    "json-object": "application/json",
    "json-any": "application/json",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=fuzz",
}


@st.composite
def submissions(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    """Headers and a body for POST /tasks/."""
    content_type = draw(content_types)
    shape = draw(st.sampled_from(["json-object", "json-any", "form", "multipart", "bytes"]))
    if shape == "json-object":
        body = json.dumps(
            {"type": draw(json_values)}
            | draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3))
        ).encode()
    elif shape == "json-any":
        body = json.dumps(draw(json_values)).encode()
    elif shape == "form":
        values = draw(st.lists(type_texts, max_size=3))
        body = urlencode([("type", value) for value in values]).encode()
    elif shape == "multipart":
        values = draw(st.lists(type_texts, max_size=3))
        parts = [
            f'--fuzz\r\nContent-Disposition: form-data; name="type"\r\n\r\n{value}\r\n'
            for value in values
        ]
        body = ("".join(parts) + "--fuzz--\r\n").encode()
    else:
        body = draw(st.binary(max_size=300))
    if draw(st.booleans()):  # half the time, the content type that fits the body
        content_type = MATCHING.get(shape, content_type)
    headers = {"Content-Type": content_type}
    optional: dict[str, st.SearchStrategy[str]] = {
        "Accept": st.sampled_from(["*/*", "application/json", "text/html"]) | header_values,
        "HX-Request": st.sampled_from(["true", "false"]) | header_values,
        "HX-Current-URL": st.sampled_from(["http://[::1", "/?kind=9"]) | header_values,
        "HX-Target": header_values,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            headers[name] = draw(strategy)
    return headers, body


def is_json(response: httpx.Response) -> bool:
    return str(response.headers.get("Content-Type", "")).startswith("application/json")


@settings(
    max_examples=200,
    deadline=None,
    database=None,  # no example files in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)
@given(submission=submissions())
def test_submit_never_answers_5xx_whatever_it_is_sent(
    target: Stack, target_client: httpx.Client, submission: tuple[dict[str, str], bytes]
) -> None:
    headers, body = submission
    log = web_service(target).log
    logged_before = len(log())

    response = target_client.post(
        "/tasks/",
        content=body,
        headers={name.encode(): value.encode() for name, value in headers.items()},
    )

    assert response.status_code < 500, (response.status_code, response.text[:300])
    answer: dict[str, Any] = response.json() if is_json(response) else {}
    if response.status_code == 202:
        assert answer["task_status"] == "PENDING"
    elif 400 <= response.status_code < 500:
        assert answer.get("error") if is_json(response) else response.text.strip()
    else:  # a fragment for htmx, or post/redirect/get for a browser form
        assert response.status_code in (201, 303), response.status_code
    assert "Traceback" not in log()[logged_before:]


# Parameter names: mostly the entries' own, sometimes anything else.
real_names = st.sampled_from(
    ["seconds", "seconds", "at_step", "failures", "to", "message", "urgent"]
)
param_names = st.one_of(real_names, real_names, real_names, st.text(max_size=12))
entry_types = st.sampled_from(
    ["short", "cpu-heavy", "failing", "flaky", "notify", "instant", "1", "4"]
)
# Numbers a range check must survive: huge, tiny, negative zero, beyond float.
edge_numbers = st.sampled_from([10**400, -(10**400), 1e308, -0.0, 5e-324, 2**63])


@st.composite
def launches(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    """A launch of an entry with parameters, as JSON or as form fields."""
    accept = draw(st.sampled_from(["*/*", "text/html"]))
    if draw(st.booleans()):
        values = st.one_of(edge_numbers, edge_numbers, json_values)
        params = draw(st.dictionaries(param_names, values, max_size=4))
        wrapped = draw(st.booleans())
        body: dict[str, Any] = {"type": draw(entry_types)}
        body |= {"params": params} if wrapped else params
        return {"Content-Type": "application/json", "Accept": accept}, json.dumps(body).encode()
    texts = type_texts | edge_numbers.map(str)
    fields = [
        ("type", draw(entry_types)),
        *draw(st.lists(st.tuples(param_names, texts), max_size=4)),
    ]
    form_headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
    return form_headers, urlencode(fields).encode()


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(submission=launches())
def test_parameters_never_answer_5xx_whatever_their_values(
    target: Stack, target_client: httpx.Client, submission: tuple[dict[str, str], bytes]
) -> None:
    headers, body = submission
    log = web_service(target).log
    logged_before = len(log())

    response = target_client.post("/tasks/", content=body, headers=headers)

    assert response.status_code < 500, (response.status_code, response.text[:300])
    if is_json(response) and response.status_code == 400:
        assert response.json()["error"]
    assert response.status_code in (202, 303, 400), response.status_code
    assert "Traceback" not in log()[logged_before:]
