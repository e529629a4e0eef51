"""The catalogue over HTTP: launching an entry by name with parameters (form fields or
JSON), each refusal naming the parameter, the list with its schemas, and the
parameters kept on the task, shown, and reused by retry."""

from typing import Any

import httpx
import pytest

from tests.integration.conftest import submit, wait_for_status

SCALE = 0.4  # conftest.TIME_SCALE


def launch(client: httpx.Client, **fields: str) -> dict[str, Any]:
    """`curl -F type=... -F name=value ...`"""
    response = client.post("/tasks/", files={k: (None, v) for k, v in fields.items()})
    assert response.status_code == 202, response.text
    return dict(response.json())


# --- Launch paths -----------------------------------------------------------------------


def test_seed_type_runs_the_entry_with_its_defaults(client: httpx.Client) -> None:
    task = submit(client, 2)

    assert task["kind_name"] == "medium"
    assert task["params"] == {"seconds": 20}


def test_a_name_and_form_fields_launch_an_entry_with_those_parameters(
    client: httpx.Client,
) -> None:
    task = launch(client, type="short", seconds="1")

    assert (task["kind"], task["params"]) == (1, {"seconds": 1})
    done = wait_for_status(client, task["task_id"], "SUCCESS")
    assert done["task_result"] == {"slept_seconds": 1 * SCALE, "steps": 20}


def test_json_params_launch_an_entry_with_those_parameters(client: httpx.Client) -> None:
    response = client.post("/tasks/", json={"type": "long", "params": {"seconds": 2}})

    assert response.status_code == 202, response.text
    task = wait_for_status(client, response.json()["task_id"], "SUCCESS")
    assert task["params"] == {"seconds": 2}
    assert task["task_result"] == {"slept_seconds": 2 * SCALE, "steps": 20}


def test_the_failing_entry_fails_at_the_step_it_is_given(client: httpx.Client) -> None:
    task = launch(client, type="failing", at_step="2")

    failed = wait_for_status(client, task["task_id"], "FAILURE")
    assert failed["progress"] == 10  # 2 of 20 steps
    assert failed["error"].startswith("JSONDecodeError")


def test_the_flaky_entry_fails_as_many_tries_as_it_is_told(client: httpx.Client) -> None:
    response = client.post("/tasks/", json={"type": 6, "params": {"failures": 1}})

    task = wait_for_status(client, response.json()["task_id"], "SUCCESS", timeout=60)
    assert task["attempts"] == 2
    assert task["task_result"] == {"attempts": 2, "upstream": "ok"}


def test_the_cpu_entry_takes_fractional_seconds(client: httpx.Client) -> None:
    task = launch(client, type="cpu-heavy", seconds="0.5")

    assert task["params"] == {"seconds": 0.5}
    done = wait_for_status(client, task["task_id"], "SUCCESS")
    assert done["task_result"]["sha256_rounds"] == 2_000_000 * 0.5 * SCALE // 20 * 20


def test_the_notify_entry_sends_what_it_is_given(client: httpx.Client) -> None:
    task = launch(client, type="notify", to="team", message="deploy done", urgent="true")

    done = wait_for_status(client, task["task_id"], "SUCCESS")
    assert done["task_result"] == {"sent": "page", "to": "team", "message": "deploy done"}


def test_a_retry_runs_with_the_parameters_of_the_task_it_retries(client: httpx.Client) -> None:
    failed = launch(client, type="failing", at_step="1")
    wait_for_status(client, failed["task_id"], "FAILURE")

    response = client.post(f"/tasks/{failed['task_id']}/retry/")

    assert response.status_code == 202, response.text
    assert response.json()["params"] == {"at_step": 1}


# --- Refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"type": "short", "seconds": "500"},
            "seconds",
            "`seconds` must be a whole number from 0 to 100; got '500'.",
        ),
        ({"type": "1", "seconds": "-1"}, "seconds", "a whole number from 0 to 100; got '-1'"),
        ({"type": "short", "seconds": "1.5"}, "seconds", "a whole number from 0 to 100"),
        ({"type": "short", "seconds": "ten"}, "seconds", "a whole number from 0 to 100"),
        ({"type": "short", "seconds": ""}, "seconds", "got ''"),
        ({"type": "cpu-heavy", "seconds": "nan"}, "seconds", "a number from 0.1 to 60"),
        ({"type": "cpu-heavy", "seconds": "61"}, "seconds", "a number from 0.1 to 60"),
        ({"type": "failing", "at_step": "20"}, "at_step", "a whole number from 0 to 19"),
        ({"type": "flaky", "failures": "4"}, "failures", "a whole number from 0 to 3"),
        ({"type": "notify", "to": "nobody"}, "to", "`to` must be one of on-call, team, all"),
        ({"type": "notify", "urgent": "maybe"}, "urgent", "`urgent` must be true or false"),
        (
            {"type": "notify", "message": "x" * 201},
            "message",
            "a text of at most 200 characters",
        ),
        (
            {"type": "short", "colour": "red"},
            "colour",
            "short has no parameter 'colour'; it takes `seconds` (a whole number from 0 to 100).",
        ),
        ({"type": "instant", "seconds": "1"}, "seconds", "instant has no parameter 'seconds'"),
    ],
)
def test_a_refused_form_field_is_400_naming_it_and_what_it_accepts(
    client: httpx.Client, fields: dict[str, str], field: str, message: str
) -> None:
    response = client.post("/tasks/", files={k: (None, v) for k, v in fields.items()})

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert message in response.json()["errors"][field]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"seconds": "5"}, "seconds", "must be a whole number from 0 to 100; got '5'"),
        ({"seconds": True}, "seconds", "must be a whole number from 0 to 100; got 'True'"),
        ({"seconds": 5.5}, "seconds", "must be a whole number from 0 to 100; got '5.5'"),
        ({"seconds": 101}, "seconds", "must be a whole number from 0 to 100; got '101'"),
        ({"seconds": None}, "seconds", "must be a whole number"),
        ({"seconds": 10**400}, "seconds", "must be a whole number from 0 to 100; got '1000"),
        ({"seconds": -(10**400)}, "seconds", "must be a whole number from 0 to 100"),
        ({"speed": 1}, "speed", "short has no parameter 'speed'"),
    ],
)
def test_a_refused_json_param_is_400_naming_it_and_what_it_accepts(
    client: httpx.Client, params: dict[str, object], field: str, message: str
) -> None:
    response = client.post("/tasks/", json={"type": "short", "params": params})

    assert response.status_code == 400
    assert message in response.json()["errors"][field]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "short", "params": [5]}, "`params` must be a JSON object"),
        ({"type": "short", "params": "seconds=5"}, "`params` must be a JSON object"),
        ({"type": "short", "seconds": 5}, "Send parameters inside `params`"),
        ({"type": "shorter"}, "'shorter' is not a task type"),
    ],
)
def test_a_json_body_of_the_wrong_shape_is_400_saying_so(
    client: httpx.Client, body: dict[str, object], message: str
) -> None:
    response = client.post("/tasks/", json=body)

    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_parameter_sent_twice_is_400(client: httpx.Client) -> None:
    response = client.post("/tasks/", data={"type": "short", "seconds": ["1", "2"]})

    assert response.status_code == 400
    assert response.json()["error"] == "Send one `seconds`, not 2."


def test_a_browser_gets_the_form_again_with_the_error_next_to_the_field(
    client: httpx.Client,
) -> None:
    response = client.post(
        "/tasks/",
        data={"type": "short", "seconds": "500"},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 400
    page = response.text
    assert 'id="short-seconds" name="seconds" value="500"' in page  # what was typed
    assert 'aria-invalid="true"' in page
    error = page.split('id="short-seconds-error">', 1)[1].split("</p>", 1)[0]
    assert error == "`seconds` must be a whole number from 0 to 100; got &#x27;500&#x27;."


def test_a_browser_form_that_is_accepted_goes_back_to_the_dashboard(
    client: httpx.Client,
) -> None:
    response = client.post(
        "/tasks/", data={"type": "short", "seconds": "0"}, headers={"Accept": "text/html"}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


# --- The catalogue --------------------------------------------------------------------


def test_the_catalogue_lists_every_entry_with_its_schema(client: httpx.Client) -> None:
    response = client.get("/catalogue/")

    assert response.status_code == 200
    entries = {entry["name"]: entry for entry in response.json()["entries"]}
    assert list(entries) == [
        "instant",
        "short",
        "medium",
        "long",
        "cpu-heavy",
        "failing",
        "flaky",
        "notify",
        "export",
    ]
    short = entries["short"]
    assert short["type"] == 1
    assert short["queue"] == "default"
    assert entries["cpu-heavy"]["queue"] == "cpu"
    assert (short["safe_to_repeat"], entries["notify"]["safe_to_repeat"]) == (True, False)
    assert short["expected_seconds"] == 10 * SCALE
    assert short["schema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert short["schema"]["properties"]["seconds"] == {
        "title": "Seconds",
        "description": "How long it sleeps, in 20 steps (multiplied by TASK_TIME_SCALE).",
        "type": "integer",
        "minimum": 0,
        "maximum": 100,
        "default": 10,
    }
    assert entries["instant"]["schema"]["properties"] == {}


def test_a_browser_gets_the_catalogue_as_a_page_with_a_form_per_entry(
    client: httpx.Client,
) -> None:
    response = client.get("/catalogue/", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "Accept" in response.headers["Vary"]
    assert response.text.count('class="launch-form"') == 9
    assert 'id="notify-urgent-help"' in response.text


def test_one_entry_answers_with_its_json_or_its_form(client: httpx.Client) -> None:
    as_json = client.get("/catalogue/flaky/").json()
    as_page = client.get("/catalogue/flaky/", headers={"Accept": "text/html"})

    assert as_json["defaults"] == {"failures": 2}
    assert 'id="flaky-failures" name="failures" value="2"' in as_page.text


def test_an_unknown_entry_is_404(client: httpx.Client) -> None:
    response = client.get("/catalogue/nope/")

    assert response.status_code == 404
    assert "no entry 'nope'" in response.json()["error"]


# --- Shown on the task ------------------------------------------------------------------


def test_the_task_page_shows_long_parameters_folded_and_offers_run_again(
    client: httpx.Client,
) -> None:
    message = "the nightly export is ready " * 6  # 168 characters
    task = launch(client, type="notify", message=message, to="all")
    wait_for_status(client, task["task_id"], "SUCCESS")

    as_json = client.get(f"/tasks/{task['task_id']}/").json()
    page = client.get(f"/tasks/{task['task_id']}/", headers={"Accept": "text/html"}).text

    assert as_json["params"] == {"to": "all", "message": message, "urgent": False}
    assert "(168 characters: show all)" in page
    assert f'<pre class="unfolded">{message}</pre>' in page
    run_again = page.split('class="run-again', 1)[1]
    assert f'id="again-message" name="message" value="{message}"' in run_again
    assert "<option selected>all</option>" in run_again
