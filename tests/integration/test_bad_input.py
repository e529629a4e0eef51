"""Bad input gets a clear 4xx with a message, in the form the client asked for."""

import uuid

import httpx
import pytest

ACCEPTED = (
    "0 (instant), 1 (short), 2 (medium), 3 (long), 4 (cpu-heavy), 5 (failing), 6 (flaky), "
    "7 (notify)"
)


@pytest.mark.parametrize(
    "path",
    [
        f"/tasks/{uuid.uuid4()}/",  # well formed, unknown
        "/tasks/not-a-uuid/",
        "/tasks/12345/",
        "/tasks/" + "a" * 300 + "/",
    ],
)
def test_unknown_or_malformed_task_id_is_404_json(client: httpx.Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert "no task with id" in response.json()["error"]


def test_unknown_page_is_404_json_for_curl_and_html_for_browsers(
    client: httpx.Client,
) -> None:
    as_json = client.get("/nowhere/")
    as_html = client.get("/nowhere/", headers={"Accept": "text/html"})

    assert as_json.status_code == 404
    assert "error" in as_json.json()
    assert as_html.status_code == 404
    assert "Error 404" in as_html.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "The field `type` is missing"),
        ({"type": ""}, "The field `type` is missing"),
        ({"type": "9"}, "'9' is not a task type"),
        ({"type": "-1"}, "'-1' is not a task type"),
        ({"type": "1.5"}, "'1.5' is not a task type"),
        ({"type": "shorty"}, "'shorty' is not a task type"),
        ({"type": "١"}, "is not a task type"),  # an Arabic-Indic digit one
        ({"type": "9" * 50}, "is not a task type"),
    ],
)
def test_bad_or_missing_type_is_400_naming_what_is_accepted(
    client: httpx.Client, fields: dict[str, str], message: str
) -> None:
    response = client.post(
        "/tasks/", files={k: (None, v) for k, v in fields.items()} or {"x": (None, "")}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error
    assert ACCEPTED in error


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1]", b'"1"', b'{"type": true}', b'{"type": [1]}']
)
def test_bad_json_body_is_400(client: httpx.Client, body: bytes) -> None:
    response = client.post("/tasks/", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"]


def test_unsupported_content_type_is_415(client: httpx.Client) -> None:
    response = client.post("/tasks/", content=b"type=1", headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert "form field" in response.json()["error"]


def test_oversized_body_is_413(client: httpx.Client) -> None:
    response = client.post("/tasks/", data={"type": "1", "padding": "x" * 100_000})

    assert response.status_code == 413
    assert "too large" in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/tasks/"),
        ("PUT", "/tasks/"),
        ("PATCH", "/"),
        ("POST", "/"),
        ("POST", f"/tasks/{uuid.uuid4()}/"),
        ("DELETE", f"/tasks/{uuid.uuid4()}/"),
    ],
)
def test_wrong_method_is_405_with_allow_header(
    client: httpx.Client, method: str, path: str
) -> None:
    response = client.request(method, path)

    assert response.status_code == 405
    assert "is not allowed here" in response.json()["error"]
    assert "GET" in response.headers["Allow"]


def test_browser_sees_errors_as_a_page(client: httpx.Client) -> None:
    response = client.get("/tasks/not-a-uuid/", headers={"Accept": "text/html"})

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "There is no task with id" in response.text
